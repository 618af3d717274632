extension String {
    /// This text with every scalar found in `table` replaced by its entry (""
    /// drops it) and every other scalar that `dropped` picks left out: the one
    /// loop behind recsys's escapings (XML and HTML, COPY text).
    public func escaped(_ table: [Unicode.Scalar: String], dropping dropped: (Unicode.Scalar) -> Bool = { _ in false }) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if let replacement = table[scalar] {
                out += replacement
            } else if !dropped(scalar) {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
