/// A commune or ward (cấp xã) after the 2025 reorganisation: where a report comes from.
public struct Area: Sendable, Hashable, Codable {
    /// Official 2025 GSO code, the area id.
    public var code: String
    /// Official name with its type prefix ("Xã Lũng Cú").
    public var name: String
    public var province: String
    public var provinceCode: String
    /// Names of pre-2025 communes merged into this unit.
    public var formerNames: [String]
    /// Pre-2025 districts the unit's parts came from ("Huyện Đồng Văn").
    public var formerDistricts: [String]

    public init(code: String, name: String, province: String, provinceCode: String, formerNames: [String] = [], formerDistricts: [String] = []) {
        self.code = code
        self.name = name
        self.province = province
        self.provinceCode = provinceCode
        self.formerNames = formerNames
        self.formerDistricts = formerDistricts
    }

    static let typePrefixes = ["Xã ", "Phường ", "Đặc khu ", "Thị trấn "]

    /// The name without its type prefix ("Lũng Cú").
    public var shortName: String { Area.strippingPrefix(name, Area.typePrefixes) }

    static func strippingPrefix(_ name: String, _ prefixes: [String]) -> String {
        for prefix in prefixes where name.hasPrefix(prefix) {
            return String(name.dropFirst(prefix.count))
        }
        return name
    }
}

/// Where a child was taken: a province (after 2025) or a country.
public struct Place: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case province, country }
    public var kind: Kind
    /// Province code (2025) or ISO 3166-1 alpha-2 country code.
    public var code: String
    public var name: String
    /// ISO country code (VN for provinces).
    public var country: String
    public var aliases: [String]

    public init(kind: Kind, code: String, name: String, country: String, aliases: [String] = []) {
        self.kind = kind
        self.code = code
        self.name = name
        self.country = country
        self.aliases = aliases
    }
}
