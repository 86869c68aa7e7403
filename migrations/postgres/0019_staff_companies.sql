-- Staff limited to some companies (issue 16): a buyer with rows here sees the orders,
-- exceptions and performance of those companies only; without rows, of every company.
-- Admins always see every company.
CREATE TABLE staff_companies (
    user_id BIGINT NOT NULL REFERENCES users(id),
    company_odoo_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, company_odoo_id)
);
