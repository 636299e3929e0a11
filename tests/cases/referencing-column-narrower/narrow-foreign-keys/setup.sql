-- Orders got a bigserial key, but order_items.order_id stayed integer; and a
-- smallint foreign key references an integer serial.
CREATE TABLE orders (id bigserial PRIMARY KEY);
CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id integer NOT NULL REFERENCES orders);
CREATE TABLE shipments (id serial PRIMARY KEY);
CREATE TABLE tracking (shipment_id smallint REFERENCES shipments);
