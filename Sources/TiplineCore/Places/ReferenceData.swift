import Foundation
import SwiftCSV

/// Reads the reference data files (`config/areas.csv`, `config/places.csv`) from their text.
///
/// Errors name the row and column, so a deployment that swaps these files learns what to fix.
public enum ReferenceData {
    public struct FormatError: Error, CustomStringConvertible {
        public var row: Int
        public var column: String
        public var problem: String
        public var description: String { "row \(row), column '\(column)': \(problem)" }
    }

    static let areaColumns = ["code", "name", "province", "province_code", "former_names", "former_districts"]
    static let placeColumns = ["kind", "code", "name", "country", "aliases"]

    public static func areas(csv text: String) throws -> [Area] {
        let csv = try table(text, columns: areaColumns)
        var areas: [Area] = []
        for (index, row) in csv.rows.enumerated() {
            let line = index + 2
            func value(_ column: String) throws -> String {
                let value = (row[column] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                if value.isEmpty, ["code", "name", "province", "province_code"].contains(column) {
                    throw FormatError(row: line, column: column, problem: "is empty")
                }
                return value
            }
            areas.append(Area(
                code: try value("code"), name: try value("name"), province: try value("province"),
                provinceCode: try value("province_code"),
                formerNames: try value("former_names").split(separator: "|").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) },
                formerDistricts: try value("former_districts").split(separator: "|").map {
                    String($0.split(separator: ",").first ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                }
            ))
        }
        return areas
    }

    public static func places(csv text: String) throws -> [Place] {
        let csv = try table(text, columns: placeColumns)
        var places: [Place] = []
        for (index, row) in csv.rows.enumerated() {
            let line = index + 2
            guard let kind = Place.Kind(rawValue: row["kind"] ?? "") else {
                throw FormatError(row: line, column: "kind", problem: "must be 'province' or 'country', not '\(row["kind"] ?? "")'")
            }
            for column in ["code", "name", "country"] where (row[column] ?? "").isEmpty {
                throw FormatError(row: line, column: column, problem: "is empty")
            }
            places.append(Place(kind: kind, code: row["code"]!, name: row["name"]!, country: row["country"]!,
                                aliases: (row["aliases"] ?? "").split(separator: "|").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }))
        }
        return places
    }

    static func table(_ text: String, columns: [String]) throws -> CSV<Named> {
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let csv: CSV<Named>
        do {
            csv = try CSV<Named>(string: body, delimiter: .comma, loadColumns: false)
        } catch {
            throw FormatError(row: 0, column: "", problem: "not readable as CSV: \(error)")
        }
        for column in columns where !csv.header.contains(column) {
            throw FormatError(row: 1, column: column, problem: "missing from the header (expected \(columns.joined(separator: ",")))")
        }
        return csv
    }
}
