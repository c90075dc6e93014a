"""Admin: reward items, coupon codes and the fulfilment of redemptions."""
