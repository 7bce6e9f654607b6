import Foundation

/// A record the store reads from and writes to one table, the same way on both backends.
///
/// `init(sqlRow:)` reads a row (opening sealed columns with the cipher in force, ``FieldCipher``); `sqlColumns()`
/// gives every column to write (sealing personal ones), the generated key left out while it is nil.
public protocol SQLRecord {
    static var tableName: String { get }
    /// The primary key column (`id`, or `number` for reports).
    static var keyColumn: String { get }
    init(sqlRow row: SQLRow) throws
    func sqlColumns() throws -> [(String, SQLValue)]
}

extension SQLRecord {
    public static var keyColumn: String { "id" }
}

extension SQLSession {
    public func fetchAll<Record: SQLRecord>(_ type: Record.Type, _ sql: String, _ arguments: any SQLBindable...) throws -> [Record] {
        try rows(sql, arguments.map(\.sqlValue)).map(Record.init(sqlRow:))
    }

    public func fetchOne<Record: SQLRecord>(_ type: Record.Type, _ sql: String, _ arguments: any SQLBindable...) throws -> Record? {
        try rows(sql, arguments.map(\.sqlValue)).first.map(Record.init(sqlRow:))
    }

    /// The record whose key is `key`.
    public func fetch<Record: SQLRecord>(_ type: Record.Type, key: any SQLBindable) throws -> Record? {
        try rows("SELECT * FROM \(Record.tableName) WHERE \(Record.keyColumn) = ?", [key.sqlValue]).first.map(Record.init(sqlRow:))
    }

    /// Inserts the record; returns its generated key (`RETURNING`, on both backends).
    @discardableResult
    public func insert<Record: SQLRecord>(_ record: Record, onConflictDoNothing: Bool = false) throws -> Int64? {
        let columns = try record.sqlColumns().filter { !($0.0 == Record.keyColumn && $0.1 == .null) }
        let names = columns.map(\.0).joined(separator: ", ")
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let sql = "INSERT INTO \(Record.tableName) (\(names)) VALUES (\(marks))" + (onConflictDoNothing ? " ON CONFLICT DO NOTHING" : "")
            + " RETURNING \(Record.keyColumn)"
        return try rows(sql, columns.map(\.1)).first?[0].int64
    }

    /// Writes every column of the record with this key; returns whether a row had it.
    @discardableResult
    public func update<Record: SQLRecord>(_ record: Record) throws -> Bool {
        let columns = try record.sqlColumns()
        guard let key = columns.first(where: { $0.0 == Record.keyColumn })?.1, key != .null else {
            throw SQLError("an update of a \(Record.tableName) record without its \(Record.keyColumn)")
        }
        let assignments = columns.filter { $0.0 != Record.keyColumn }
        let sql = "UPDATE \(Record.tableName) SET \(assignments.map { "\($0.0) = ?" }.joined(separator: ", ")) WHERE \(Record.keyColumn) = ?"
        return try execute(sql, assignments.map(\.1) + [key]) > 0
    }

    /// Deletes the row with this key; returns whether there was one.
    @discardableResult
    public func delete<Record: SQLRecord>(_ type: Record.Type, key: any SQLBindable) throws -> Bool {
        try execute("DELETE FROM \(Record.tableName) WHERE \(Record.keyColumn) = ?", [key.sqlValue]) > 0
    }
}

extension SQLValue {
    /// A raw-value enum from a text column.
    public func decode<Value: RawRepresentable>(_ type: Value.Type) -> Value? where Value.RawValue == String {
        string.flatMap(Value.init(rawValue:))
    }
}
