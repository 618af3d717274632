import ArgumentParser

/// `recsys graph` (issue 5): co-rating networks, communities and centrality.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph", abstract: "Community detection and centrality over co-rating networks.")

    func run() throws {
        throw UsageError(description: "recsys graph is not built yet")
    }
}
