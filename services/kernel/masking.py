"""How a person's name is shown in public (certificates, rankings, institutional disclosures)."""


def mask_name(name: str) -> str:
    """Public form of a holder name: 张三丰 → 张*丰, Alice → A***e, two characters → 王*."""
    name = name.strip()
    if len(name) <= 1:
        return name or "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
