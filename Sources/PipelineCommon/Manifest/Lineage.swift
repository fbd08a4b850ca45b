/// A version's place in the graph: everything it was made from, and everything made from it.
public struct Lineage: Sendable, Equatable {
    public let version: DatasetVersion
    /// Ancestors nearest first, each with its depth (1 = parent).
    public let ancestors: [(version: DatasetVersion, depth: Int)]
    /// Descendants nearest first, each with its depth (1 = child).
    public let descendants: [(version: DatasetVersion, depth: Int)]

    public static func == (lhs: Lineage, rhs: Lineage) -> Bool {
        lhs.version == rhs.version && lhs.ancestors.map(\.version.id) == rhs.ancestors.map(\.version.id)
            && lhs.descendants.map(\.version.id) == rhs.descendants.map(\.version.id)
    }
}
