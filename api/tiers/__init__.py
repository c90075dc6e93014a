"""Green tiers (浅绿 / 中绿 / 深绿) by lifetime earned points."""
