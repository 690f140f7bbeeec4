import CLibCrypto

/// SHA-256 for token hashes and migration checksums, from OpenSSL's libcrypto (already linked
/// through libwebsockets and libpq).
public enum SHA256 {
    /// The 32-byte digest of `message`.
    public static func hash<C: Collection>(_ message: C) -> [UInt8] where C.Element == UInt8 {
        let bytes = Array(message)
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        // Fails only when libcrypto cannot allocate a context: nothing sensible to go on with.
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        return Array(digest.prefix(32))
    }

    /// Lowercase hex of the digest.
    public static func hexDigest<C: Collection>(_ message: C) -> String where C.Element == UInt8 {
        Hex.lowercase(hash(message))
    }
}
