import CLibWebSockets
public func lwsPre() -> Int { Int(chub_lws_pre()) }
