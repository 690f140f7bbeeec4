import CLibPQ
public func libpqVersion() -> Int { Int(PQlibVersion()) }
