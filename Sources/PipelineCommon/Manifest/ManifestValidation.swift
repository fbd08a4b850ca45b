/// Checks shared by both stores, so both refuse the same input: PostgreSQL text cannot hold
/// NUL, so no text field but the keys (stored as bytes) may contain it.
enum ManifestValidation {
    static func check(_ items: [DatasetItem]) throws {
        for item in items {
            for (field, value) in [
                ("sha256", item.sha256), ("format", item.format ?? ""), ("annotations", item.annotations),
                ("reason", item.reason ?? ""),
            ] where value.utf8.contains(0) {
                throw ManifestStoreError(
                    .invalid,
                    "item \(item.sourceKey.debugDescription): \(field) contains a NUL byte; encode it (JSON does)")
            }
        }
    }

    static func check(payloads: [String]) throws {
        if payloads.contains(where: { $0.utf8.contains(0) }) {
            throw ManifestStoreError(.invalid, "a work payload contains a NUL byte; encode it (JSON does)")
        }
    }
}
