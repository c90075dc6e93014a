"""A complete production environment, for tests of what the production profile accepts and refuses."""

from __future__ import annotations

PRODUCTION_ENV: dict[str, str] = {
    "DATABASE_URL": "postgresql://app@db/carbon",
    "REDIS_URL": "redis://cache:6379/0",
    "SECRET_KEY": "5f0c9e1a7b3d48e2a6c1f9b04d7e3a28c5b1e6f9a2d4c7b0e3f6a9d2c5b8e1f4",
    "PUBLIC_BASE_URL": "https://carbon.example.cn",
    "METRICS_TOKEN": "prometheus-scrape-token-7d3e9a1c",
    "WECHAT_APPID": "wx123",
    "WECHAT_SECRET": "s",
    "WECHATPAY_MCHID": "1900000001",
    "PAYMENT_PROVIDER": "wechatpay_v2",
    "WECHATPAY_API_KEY": "k" * 32,
    "LEDGER_SIGNING_KEY": "nGp0X7r8Ck1mX0pB9bK6Zr0dS3l4qYt2wV5eU8iO1aE=",
    "PHONE_ENCRYPTION_KEY": "uA4BY_ZfLYgTfszurJiF8NxwvMBk3HCYDblldOgjfh0=",
}
