-- Gateways and sub-devices (internal/gateway): sub-device products
-- associated with gateway products, and sub-devices bound to gateway devices.
-- Times are unix milliseconds.

CREATE TABLE gateway_sub_products (
    gateway_product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    product_id         TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (gateway_product_id, product_id)
);

CREATE TABLE gateway_bindings (
    product_id         TEXT NOT NULL,
    device_name        TEXT NOT NULL,
    gateway_product_id TEXT NOT NULL,
    gateway_name       TEXT NOT NULL,
    bound_at           BIGINT NOT NULL,
    PRIMARY KEY (product_id, device_name),
    FOREIGN KEY (product_id, device_name) REFERENCES devices (product_id, name) ON DELETE CASCADE,
    FOREIGN KEY (gateway_product_id, gateway_name) REFERENCES devices (product_id, name) ON DELETE CASCADE
);

CREATE INDEX gateway_bindings_gateway ON gateway_bindings (gateway_product_id, gateway_name, bound_at);
