-- Documents attached to shipment notices (certificates of conformance, packing lists).
CREATE TABLE shipment_documents (
    id INTEGER PRIMARY KEY,
    notice_id INTEGER NOT NULL REFERENCES shipment_notices(id),
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,          -- the file is stored under <upload dir>/<sha256>
    uploaded_by INTEGER NOT NULL REFERENCES users(id),
    uploaded_at TEXT NOT NULL
);
CREATE INDEX shipment_documents_notice ON shipment_documents (notice_id);
