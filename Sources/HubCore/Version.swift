/// Marker for the pure domain module.
public enum HubCoreVersion { public static let string = "0.1.0" }
