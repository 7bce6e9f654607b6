/// The deployment's reference data, indexed for matching typed place names.
///
/// Names match ignoring case, diacritics, spaces and hyphens. A name may belong to several areas (a former commune
/// split between new units): matching reports every candidate and lets the grammar decide.
public struct Gazetteer: Sendable {
    public let areas: [Area]
    public let places: [Place]
    let areaIndex: [String: [AreaName]]
    let placeIndex: [String: [Place]]
    /// Folded district name key ("DONGVAN") → areas with a part from that former district.
    let districtIndex: [String: Set<String>]
    let areasByCode: [String: Area]
    /// Longest key, in words, worth trying.
    let maxWords = 6

    /// One way an area can be named.
    public struct AreaName: Sendable, Hashable {
        public let area: Area
        public let isCurrent: Bool
    }

    public init(areas: [Area], places: [Place]) {
        self.areas = areas
        self.places = places
        var areaIndex: [String: [AreaName]] = [:]
        var districtIndex: [String: Set<String>] = [:]
        for area in areas {
            for key in Set([TextFolding.matchKey(area.shortName), TextFolding.matchKey(area.name)]) where !key.isEmpty {
                areaIndex[key, default: []].append(AreaName(area: area, isCurrent: true))
            }
            for former in area.formerNames {
                let key = TextFolding.matchKey(former)
                guard !key.isEmpty else { continue }
                if areaIndex[key]?.contains(where: { $0.area.code == area.code }) == true { continue }
                areaIndex[key, default: []].append(AreaName(area: area, isCurrent: false))
            }
            for district in area.formerDistricts {
                let name = Area.strippingPrefix(district, ["Huyện ", "Thị Xã ", "Thị xã ", "Thành Phố ", "Thành phố ", "Quận "])
                districtIndex[TextFolding.matchKey(name), default: []].insert(area.code)
            }
        }
        var placeIndex: [String: [Place]] = [:]
        for place in places {
            let short = Area.strippingPrefix(place.name, ["Thành phố ", "Tỉnh "])
            var names = [place.name, short, "TP " + short, "Thanh pho " + short, "Tinh " + short] + place.aliases
            if place.code == "79" { names += ["Ho Chi Minh", "TP HCM", "TP.HCM"] }
            for key in Set(names.map(TextFolding.matchKey)) where !key.isEmpty {
                if placeIndex[key]?.contains(place) == true { continue }
                placeIndex[key, default: []].append(place)
            }
        }
        self.areaIndex = areaIndex
        self.placeIndex = placeIndex
        self.districtIndex = districtIndex
        self.areasByCode = Dictionary(areas.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func area(code: String) -> Area? { areasByCode[code] }

    /// The province a parsed origin points to: its area's, or the one all its candidate areas share.
    public func provinceCode(of origin: ParsedMessage.Origin) -> String? {
        if let code = origin.areaCode { return area(code: code)?.provinceCode }
        let provinces = Set(origin.candidates.compactMap { area(code: $0)?.provinceCode })
        return provinces.count == 1 ? provinces.first : nil
    }

    public func areaNames(forKey key: String) -> [AreaName] { areaIndex[key] ?? [] }

    public func places(forKey key: String) -> [Place] { placeIndex[key] ?? [] }

    /// Areas that had a part in the former district with this key.
    public func areaCodes(inFormerDistrictKey key: String) -> Set<String>? { districtIndex[key] }

    /// Whether the key names a former district.
    public func isFormerDistrict(_ key: String) -> Bool { districtIndex[key] != nil }

    /// Areas whose current or former name starts with the typed letters, current names first (for USSD pick lists).
    public func areas(matchingPrefix typed: String, limit: Int = 5) -> [Area] {
        let key = TextFolding.matchKey(typed)
        guard !key.isEmpty else { return [] }
        var current: [Area] = []
        var former: [Area] = []
        for (name, entries) in areaIndex.sorted(by: { $0.key < $1.key }) where name.hasPrefix(key) {
            for entry in entries {
                if entry.isCurrent { current.append(entry.area) } else { former.append(entry.area) }
            }
        }
        var seen = Set<String>()
        return (current + former).filter { seen.insert($0.code).inserted }.prefix(limit).map { $0 }
    }
}
