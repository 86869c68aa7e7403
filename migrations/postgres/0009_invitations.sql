-- Invitations reuse the single-use password links: 'reset' (one hour) or 'invitation'
-- (a week; the account has no password until it is used).
ALTER TABLE password_reset_tokens ADD COLUMN purpose TEXT NOT NULL DEFAULT 'reset';
