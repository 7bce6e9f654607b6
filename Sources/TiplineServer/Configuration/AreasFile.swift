import TiplineCore

/// `config/areas.csv`: the communes, their provinces and former names.
enum AreasFile {
    /// Reads the areas; none when the file has a problem (the problem names its line and column).
    static func read(_ text: String, file: String, problems: inout ConfigProblems) -> [Area] {
        do {
            return try ReferenceData.areas(csv: text)
        } catch {
            problems.add(ConfigError(csv: error, file: file))
            return []
        }
    }
}
