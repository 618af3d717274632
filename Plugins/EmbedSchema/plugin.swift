import PackagePlugin

/// Embeds the repository's schema.sql in the Warehouse module at build time,
/// so the binary carries the very file `psql -f schema.sql` runs, and there is
/// no second copy of it in the tree to drift.
@main
struct EmbedSchema: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let input = context.package.directoryURL.appending(path: "schema.sql")
        let output = context.pluginWorkDirectoryURL.appending(path: "SchemaSQL.swift")
        return [.buildCommand(displayName: "Embedding schema.sql",
                              executable: try context.tool(named: "embed-sql").url,
                              arguments: [input.path, output.path],
                              inputFiles: [input], outputFiles: [output])]
    }
}
