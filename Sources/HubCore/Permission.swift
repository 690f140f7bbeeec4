/// Permission names from the seed API (admin.automation guards every collection endpoint).
public enum Permission {
    public static let adminAutomation = "admin.automation"
    public static let collectionView = "collection.view"
    public static let all: Set<String> = [adminAutomation, collectionView]
}
