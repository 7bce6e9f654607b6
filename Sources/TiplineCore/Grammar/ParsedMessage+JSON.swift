/// A fast JSON writer for ``ParsedMessage``, used where a report is stored (on every report's path):
/// the same object `JSONEncoder` writes with `.sortedKeys`, without its cost.
extension ParsedMessage {
    public var jsonString: String {
        var out = "{"
        func key(_ name: String) { out += (out.count > 1 ? "," : "") + "\"" + name + "\":" }
        func string(_ value: String?) {
            guard let value else { out += "null"; return }
            out += "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "/": out += "\\/"
                default:
                    if scalar.value < 0x20 {
                        out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            out += "\""
        }
        func strings(_ values: [String]) {
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                string(value)
            }
            out += "]"
        }
        func int(_ value: Int?) { out += value.map(String.init) ?? "null" }
        func object(_ fields: () -> Void) {
            let saved = out
            out = "{"
            fields()
            out = saved + out + "}"
        }
        key("child"); object {
            key("age"); int(child.age)
            key("name"); string(child.name)
            key("sex"); string(child.sex?.rawValue)
        }
        key("command"); string(command?.rawValue)
        key("companion"); object {
            key("name"); string(companion.name)
            key("phone"); string(companion.phone)
        }
        key("destination"); object {
            key("code"); string(destination.code)
            key("country"); string(destination.country)
            key("name"); string(destination.name)
            key("text"); string(destination.text)
        }
        key("flags"); strings(flags)
        key("kind"); string(kind.rawValue)
        key("language"); string(language.rawValue)
        key("left_on"); string(leftOn)
        key("missing"); strings(missing)
        key("note"); string(note)
        key("number"); int(number)
        key("origin"); object {
            key("area_code"); string(origin.areaCode)
            key("area_name"); string(origin.areaName)
            key("candidates"); strings(origin.candidates)
            key("province"); string(origin.province)
            key("text"); string(origin.text)
            key("village"); string(origin.village)
        }
        key("outcome"); string(outcome?.rawValue)
        key("urgent"); out += urgent ? "true" : "false"
        return out + "}"
    }
}
