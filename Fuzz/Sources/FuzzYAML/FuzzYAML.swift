import Foundation
import FuzzSupport
import Yams

/// The YAML parser every configuration file is read with (`tipline.yaml`, `roster.yaml`, `vocabulary.yaml`,
/// `replies.yaml`, `escalation.yaml`, `ussd.yaml`), on any bytes, and the lookups `YAMLReader` makes on what it returns.
///
/// The readers of those files (`RosterFile`, `VocabularyFile`, `RepliesFile`, `EscalationFile`, `UssdFile`) take text
/// but are internal to TiplineServer; until they are public this target covers what they all stand on.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let root = try? Yams.compose(yaml: FuzzInput(data, size).text) else { return 0 }
    // Walk the tree as the readers do: mappings by key, scalars as text and as the typed values settings take, lists
    // item by item — at most 10,000 nodes, because an alias repeats a subtree and a walk of every path through nested
    // aliases grows exponentially (the readers follow only the paths they know).
    var pending = [root]
    var visited = 0
    while let node = pending.popLast(), visited < 10_000 {
        visited += 1
        _ = node.mark?.line
        switch node {
        case .scalar(let scalar):
            _ = scalar.string
            _ = (node.int, node.float, node.bool, node.null, node.timestamp)
        case .mapping(let mapping):
            for (key, value) in mapping {
                if let name = key.scalar?.string { _ = mapping[name] }
                pending.append(value)
            }
        case .sequence(let sequence):
            pending.append(contentsOf: sequence)
        case .alias:
            break
        }
    }
    return 0
}
