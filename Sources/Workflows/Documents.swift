import Foundation

/// A request the use case cannot serve as asked (no saved model, an unknown
/// customer): the front end reports it as a usage error (CLI exit 2, HTTP 4xx).
public struct WorkflowError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case notFound, badRequest }
    public var kind: Kind
    public var description: String
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
