/// Money is integer cents; this formats it for people.
public enum Cents {
    /// 1234 → "$12.34", 5 → "$0.05".
    public static func format(_ cents: Int) -> String {
        let sign = cents < 0 ? "-" : ""
        let value = abs(cents)
        let fraction = value % 100
        return "\(sign)$\(value / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
