import Foundation
import Synchronization

/// Keeps passwords and tokens out of everything recsys prints or writes.
///
/// Two layers, because neither alone is enough: the secrets this process
/// knows (the password of the configured connection, `PGPASSWORD`, an API
/// token) are registered and replaced wherever they appear, whatever quoted
/// them (libpq quotes a value it cannot parse); and the value of any
/// password-like key (`password=`, `passwd=`, `token=`, a URL's `user:…@`) is
/// masked even when the key is misspelt or the secret was never registered.
public enum Secrets {
    public static let mask = "***"
    private static let known = Mutex<[String]>([])

    /// Registers a secret; values shorter than 3 characters are masked only by the key patterns
    /// (replacing every "a" in a message would hide the message, not the secret).
    public static func register(_ secret: String) {
        guard secret.count >= 3 else { return }
        known.withLock { list in
            guard !list.contains(secret) else { return }
            list.append(secret)
            list.sort { $0.count > $1.count }   // longest first: a secret that contains another
        }
    }

    /// Registers every secret a connection string or URL holds: the URL's
    /// password as written and percent-decoded, and the value of every
    /// password-like key.
    public static func registerConnection(_ conninfo: String) {
        for value in passwords(in: conninfo) { register(value) }
    }

    /// The secrets in `conninfo`, as written and decoded.
    static func passwords(in conninfo: String) -> [String] {
        var found: [String] = []
        if let scheme = conninfo.range(of: "://") {
            let rest = conninfo[scheme.upperBound...]
            let authority = rest.prefix { $0 != "/" && $0 != "?" }
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    let raw = String(userinfo[userinfo.index(after: colon)...])
                    found.append(raw)
                    if let decoded = raw.removingPercentEncoding { found.append(decoded) }
                }
            }
        }
        let text = conninfo as NSString
        for match in keyValue.matches(in: conninfo, range: NSRange(location: 0, length: text.length)) {
            var value = text.substring(with: match.range(at: 2))
            if value.hasPrefix("'") && value.hasSuffix("'") && value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\'", with: "'")
                    .replacingOccurrences(of: "\\\\", with: "\\")
            }
            found.append(value)
            if let decoded = value.removingPercentEncoding { found.append(decoded) }
        }
        return found.filter { !$0.isEmpty }
    }

    /// A key that names a secret: password, passwd, pwd, passphrase, secret, token, … with its value
    /// (quoted conninfo value, or up to white space, `&` or a quote).
    private static let keyValue = try! NSRegularExpression(
        pattern: #"(?i)\b([a-z_]*(?:pass|pwd|secret|token)[a-z_]*\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&'"]+)"#)
    private static let urlPassword = try! NSRegularExpression(pattern: #"(://[^/@:\s]*):([^/@\s]*)@"#)

    /// `text` with every registered secret and every password-like value replaced by `***`.
    public static func scrub(_ text: String) -> String {
        var out = text
        for secret in known.withLock({ $0 }) where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: mask)
        }
        guard out.contains("=") || out.contains("@") else { return out }
        var range = NSRange(location: 0, length: (out as NSString).length)
        out = urlPassword.stringByReplacingMatches(in: out, range: range, withTemplate: "$1:\(mask)@")
        range = NSRange(location: 0, length: (out as NSString).length)
        out = keyValue.stringByReplacingMatches(in: out, range: range, withTemplate: "$1\(mask)")
        return out
    }

    /// Forgets the registered secrets (tests).
    public static func reset() { known.withLock { $0.removeAll() } }
}
