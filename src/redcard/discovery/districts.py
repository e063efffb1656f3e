"""Shanghai's 16 districts, for choosing where to look without sharing one's location.

Each centre is the mean position of the real stores of data/shanghai_stores.csv in that
district (OpenStreetMap, all 1,854 rows), written down here as constants: where the stores
are, which is where a member choosing a district wants the list to start.
"""

from __future__ import annotations

from dataclasses import dataclass

from redcard.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class District:
    key: str  # pinyin slug, used in addresses (?district=xuhui)
    name_zh: str
    name_en: str
    lat: float
    lng: float


DISTRICTS: tuple[District, ...] = (
    District("huangpu", "黄浦区", "Huangpu", 31.2255, 121.4738),
    District("xuhui", "徐汇区", "Xuhui", 31.1933, 121.4387),
    District("changning", "长宁区", "Changning", 31.2110, 121.3947),
    District("jingan", "静安区", "Jing'an", 31.2323, 121.4458),
    District("putuo", "普陀区", "Putuo", 31.2447, 121.4068),
    District("hongkou", "虹口区", "Hongkou", 31.2641, 121.4918),
    District("yangpu", "杨浦区", "Yangpu", 31.3001, 121.5175),
    District("pudong", "浦东新区", "Pudong", 31.1857, 121.5624),
    District("minhang", "闵行区", "Minhang", 31.0990, 121.4190),
    District("baoshan", "宝山区", "Baoshan", 31.3423, 121.4078),
    District("jiading", "嘉定区", "Jiading", 31.3143, 121.2115),
    District("jinshan", "金山区", "Jinshan", 30.7290, 121.3388),
    District("songjiang", "松江区", "Songjiang", 31.0521, 121.2238),
    District("qingpu", "青浦区", "Qingpu", 31.1669, 121.2226),
    District("fengxian", "奉贤区", "Fengxian", 30.8760, 121.5820),
    District("chongming", "崇明区", "Chongming", 31.5387, 121.6139),
)
_BY_KEY = {d.key: d for d in DISTRICTS}


def district(key: str) -> District:
    """The district with this key; an unknown key is a 422 naming the known ones."""
    found = _BY_KEY.get(key)
    if found is None:
        raise InvalidInput(f"unknown district {key[:40]!r}; use one of: {', '.join(_BY_KEY)}")
    return found
