// The lws service thread and helpers HubServer shares with HubClient, visible to every file
// of this module (package access only, so nothing leaks to the product's users).
@_exported import HubLWS
