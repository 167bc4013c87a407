-- Platform basics every service may read through the portal's API. Feature tables come in later migrations.
CREATE TABLE IF NOT EXISTS platform_settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO platform_settings (key, value) VALUES ('platform_name', '"翼讯通短信平台"') ON CONFLICT (key) DO NOTHING;
