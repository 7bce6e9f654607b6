/// Tolerant matching: names typed with a small spelling error (a letter dropped, doubled, changed or two swapped; a
/// space lost or added — keys have no spaces). Used only right after a field marker, never on a word standing alone.
extension Gazetteer {
    /// The spelling errors tolerated between a typed key and a name, by the shorter of the two: short ones must be
    /// exact (a four-letter word is too near too many names).
    static func allowedDistance(forNameLength length: Int) -> Int {
        switch length {
        case ...4: 0
        case 5...7: 1
        default: 2
        }
    }

    /// The areas whose names are nearest to `key` within their tolerance (several when equally near), and how near.
    public func nearAreas(_ key: String) -> (areas: [Area], distance: Int)? {
        Self.nearest(key, in: areaIndex) { $0.area.code }.map { (areas: $0.values.sorted { $0.area.code < $1.area.code }.map(\.area), distance: $0.distance) }
    }

    /// The places whose names are nearest to `key` within their tolerance (several when equally near), and how near.
    public func nearPlaces(_ key: String) -> (places: [Place], distance: Int)? {
        Self.nearest(key, in: placeIndex) { $0.code }.map { (places: $0.values, distance: $0.distance) }
    }

    /// Former districts named with a small spelling error: the areas of the nearest one, when only one is nearest.
    public func areaCodes(nearFormerDistrictKey key: String) -> Set<String>? {
        guard let near = Self.nearest(key, in: districtIndex.mapValues { [$0] }, id: { $0.sorted().joined(separator: ",") }),
              near.values.count == 1 else { return nil }
        return near.values[0]
    }

    /// The entries of an index whose names are nearest to a typed key (distinct by `id`), and how near; exact names
    /// are left to the exact lookups.
    static func nearest<Entry>(_ key: String, in index: [String: [Entry]], id: (Entry) -> String) -> (values: [Entry], distance: Int)? {
        let typed = Array(key.utf8)
        var best: (values: [Entry], ids: Set<String>, distance: Int)?
        for (name, entries) in index {
            guard let distance = SpellingDistance.within(typed, Array(name.utf8), allowedDistance(forNameLength: min(name.utf8.count, typed.count))),
                  distance > 0 else { continue }
            for entry in entries {
                if best == nil || distance < best!.distance {
                    best = ([entry], [id(entry)], distance)
                } else if distance == best!.distance, best!.ids.insert(id(entry)).inserted {
                    best!.values.append(entry)
                }
            }
        }
        return best.map { ($0.values, $0.distance) }
    }
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one substring): insertions,
/// deletions, substitutions and swaps of two neighbouring letters each count one.
public enum SpellingDistance {
    /// The distance between `a` and `b` when it is at most `limit`; nil when it is more.
    public static func within(_ a: [UInt8], _ b: [UInt8], _ limit: Int) -> Int? {
        if abs(a.count - b.count) > limit { return nil }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) <= limit ? max(a.count, b.count) : nil }
        let width = b.count + 1
        var previous2 = [Int](repeating: 0, count: width)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: width)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, previous2[j - 2] + 1)
                }
                current[j] = value
                rowMinimum = min(rowMinimum, value)
            }
            if rowMinimum > limit { return nil }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count] <= limit ? previous[b.count] : nil
    }

    public static func within(_ a: String, _ b: String, _ limit: Int) -> Int? {
        within(Array(a.utf8), Array(b.utf8), limit)
    }
}
