import TiplineCore

extension ConfigError {
    /// A reference CSV's error as a configuration problem; its row is the file's line.
    init(csv error: any Error, file: String) {
        guard let format = error as? ReferenceData.FormatError else {
            self.init(file: file, key: "", problem: "\(error)")
            return
        }
        self.init(file: file, line: format.row > 0 ? format.row : nil, key: "",
                  problem: format.column.isEmpty ? format.problem : "column '\(format.column)' \(format.problem)")
    }
}
