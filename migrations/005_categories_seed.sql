-- ============================================================
-- 005 Category catalog
-- ============================================================
-- Expected counts replace the seed's placeholder of 50 products per category; the
-- simulated provider's catalog has exactly these many products per category.
INSERT INTO categories (id, name, expected_products, expected_sellers_per_product, sort_order) VALUES
    ('electronics',    'Electronics',          60, 4, 10),
    ('home-kitchen',   'Home & Kitchen',       80, 3, 20),
    ('toys-games',     'Toys & Games',         50, 4, 30),
    ('books',          'Books',               120, 2, 40),
    ('sports-outdoors','Sports & Outdoors',    40, 3, 50),
    ('beauty',         'Beauty',               30, 5, 60),
    ('collectibles',   'Collectibles',         25, 5, 70),
    ('tools',          'Tools & Home Improvement', 45, 3, 80)
ON CONFLICT (id) DO NOTHING;
