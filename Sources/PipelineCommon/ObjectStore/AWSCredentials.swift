/// AWS-style credentials: an access key id, its secret, and a session token for temporary ones.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: Secret
    public let sessionToken: Secret?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = Secret(secretAccessKey)
        self.sessionToken = sessionToken.map(Secret.init)
    }

    /// Names the key by its last four characters only, as the AWS CLI does.
    public var description: String { "access key ****\(accessKeyId.suffix(4))" }
}
