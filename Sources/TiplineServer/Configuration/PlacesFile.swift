import TiplineCore

/// `config/places.csv`: the provinces and countries a child may have been taken to.
enum PlacesFile {
    /// Reads the places; none when the file has a problem (the problem names its line and column).
    static func read(_ text: String, file: String, problems: inout ConfigProblems) -> [Place] {
        do {
            return try ReferenceData.places(csv: text)
        } catch {
            problems.add(ConfigError(csv: error, file: file))
            return []
        }
    }
}
