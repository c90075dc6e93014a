"""The privacy guide: served to anyone, accepted by users, published by admins."""
