"""A synthetic, deterministic population of Quanzhou (泉州) for demos, tests and benchmarks.

Pure NumPy + PyArrow + stdlib: nothing here imports Django, so benchmarks and analytics can use it
without settings. Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order,
so the same ``n``, ``seed`` and ``today`` give the same table, row for row.

How the city is built, all vectorised (the only Python loops run over counties and communities):

1. People per county in proportion to the 2021 resident counts shipped in
   ``lianfang/geo/data/quanzhou-population.csv`` (largest-remainder rounding, so exact); 金门 has 0.
2. Within a county, people spread over communities with lognormal town × community weights (urban
   居委会 heavier, industrial-park "虚拟社区" and farm "生活区" light), so a few communities are big.
3. One global sequence of household sizes (1–6, mean ≈ 2.75) is laid over the people; the community
   boundaries are snapped to household boundaries, so households never straddle two communities.
4. Each community gets dwellings: urban compounds (小区) with buildings, units, floors and rooms, or
   village groups (组) with house numbers; households draw distinct dwellings without replacement.
5. Ages follow the 2020 census (0–14 20.62 %, 15–59 66.17 %, 60+ 13.21 %, 65+ 9.00 %); household
   heads are adults and the other members are drawn so that the overall shares still match.
6. Resident IDs (GB 11643-1999) from the county (or, for ~10 % of households, another real region
   prefix), the birth date and a sex-parity sequence; collisions are re-drawn until none remain.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DEFAULT_TODAY", "TAGS", "Divisions", "generate_population", "load_divisions"]

DEFAULT_TODAY = dt.date(2022, 3, 28)
"""The seed article's date: the demo city is the same every time, whatever the real clock says."""

TAGS = ("bedridden", "elderly_alone", "infant", "pregnant", "dialysis", "disabled")

MALE_SHARE = 0.5222
MAX_AGE = 100

# Household sizes 1..6 (mean 2.75; Quanzhou's 2020 census average is about 2.7–2.8).
HOUSEHOLD_SIZE_P = np.array([0.24, 0.26, 0.21, 0.15, 0.08, 0.06])

MIGRANT_HOUSEHOLD_SHARE = 0.10

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)

# Region prefixes of people registered elsewhere: other Fujian cities, then the provinces most of
# Quanzhou's migrant workers come from. (code, weight)
OTHER_PREFIXES = (
    ("350102", 1.0),
    ("350203", 1.0),
    ("350301", 1.2),
    ("350322", 1.0),
    ("350402", 0.6),
    ("350602", 0.8),
    ("350623", 0.5),
    ("350702", 0.5),
    ("350802", 0.8),
    ("350902", 0.4),
    ("360102", 0.8),
    ("360702", 1.5),
    ("510104", 0.8),
    ("511321", 1.0),
    ("500101", 1.2),
    ("500233", 0.6),
    ("520221", 0.8),
    ("520321", 0.8),
    ("430102", 0.5),
    ("411302", 0.5),
    ("411625", 0.5),
    ("340102", 0.4),
    ("341222", 0.6),
    ("440106", 0.5),
    ("450102", 0.3),
    ("420102", 0.4),
    ("421122", 0.3),
    ("330102", 0.2),
    ("530102", 0.3),
    ("610102", 0.2),
    ("370102", 0.2),
    ("220102", 0.1),
    ("110101", 0.1),
    ("310101", 0.1),
)

# Surname, weight among southern-Fujian (闽南) families, weight nationally (for migrants).
SURNAMES = (
    ("陈", 12.0, 4.6),
    ("林", 8.0, 1.0),
    ("黄", 6.0, 2.5),
    ("王", 5.0, 7.1),
    ("吴", 4.5, 2.0),
    ("李", 3.5, 7.0),
    ("张", 3.5, 6.7),
    ("蔡", 3.0, 0.4),
    ("许", 2.8, 0.5),
    ("洪", 2.5, 0.1),
    ("郭", 2.2, 1.1),
    ("苏", 2.2, 0.3),
    ("庄", 2.2, 0.1),
    ("杨", 2.0, 3.1),
    ("刘", 2.0, 5.4),
    ("施", 1.8, 0.1),
    ("郑", 1.8, 0.8),
    ("曾", 1.5, 0.5),
    ("谢", 1.4, 0.7),
    ("肖", 1.2, 0.5),
    ("柯", 1.2, 0.05),
    ("颜", 1.1, 0.1),
    ("周", 1.0, 1.9),
    ("卢", 1.0, 0.3),
    ("潘", 0.9, 0.4),
    ("叶", 0.9, 0.4),
    ("邱", 0.8, 0.2),
    ("康", 0.8, 0.1),
    ("傅", 0.8, 0.1),
    ("詹", 0.7, 0.05),
    ("尤", 0.6, 0.02),
    ("戴", 0.6, 0.2),
    ("方", 0.6, 0.2),
    ("何", 0.6, 1.0),
    ("余", 0.6, 0.4),
    ("赖", 0.5, 0.1),
    ("廖", 0.5, 0.3),
    ("朱", 0.5, 1.1),
    ("丁", 0.5, 0.3),
    ("高", 0.5, 0.9),
    ("徐", 0.5, 1.3),
    ("龚", 0.4, 0.2),
    ("姚", 0.4, 0.3),
    ("魏", 0.4, 0.4),
    ("罗", 0.4, 0.9),
    ("吕", 0.4, 0.3),
    ("游", 0.4, 0.05),
    ("连", 0.4, 0.05),
    ("卓", 0.4, 0.05),
    ("留", 0.3, 0.01),
    ("骆", 0.3, 0.05),
    ("孙", 0.3, 1.3),
    ("胡", 0.3, 1.1),
    ("梁", 0.3, 0.7),
    ("彭", 0.3, 0.5),
    ("董", 0.3, 0.4),
    ("蒋", 0.3, 0.4),
    ("白", 0.3, 0.2),
    ("钟", 0.3, 0.3),
    ("唐", 0.3, 0.6),
    ("涂", 0.3, 0.05),
    ("伍", 0.3, 0.1),
    ("纪", 0.3, 0.05),
    ("粘", 0.2, 0.01),
    ("汪", 0.2, 0.3),
    ("田", 0.2, 0.4),
    ("马", 0.2, 1.1),
    ("韩", 0.2, 0.5),
    ("冯", 0.2, 0.5),
    ("邓", 0.2, 0.5),
    ("宋", 0.2, 0.6),
    ("范", 0.2, 0.3),
    ("侯", 0.2, 0.2),
    ("辜", 0.2, 0.01),
    ("凌", 0.2, 0.05),
    ("程", 0.2, 0.4),
    ("温", 0.2, 0.1),
    ("石", 0.2, 0.3),
    ("姜", 0.2, 0.3),
    ("杜", 0.2, 0.4),
    ("欧阳", 0.05, 0.05),
    ("赵", 0.1, 2.3),
    ("曹", 0.1, 0.5),
    ("袁", 0.1, 0.4),
    ("于", 0.05, 0.4),
    ("任", 0.1, 0.3),
    ("沈", 0.1, 0.3),
    ("崔", 0.02, 0.3),
    ("谭", 0.1, 0.3),
    ("陆", 0.1, 0.3),
    ("邹", 0.1, 0.2),
    ("熊", 0.1, 0.2),
    ("雷", 0.1, 0.2),
    ("龙", 0.1, 0.2),
    ("贺", 0.05, 0.2),
    ("毛", 0.1, 0.2),
    ("邵", 0.1, 0.2),
    ("覃", 0.02, 0.2),
    ("韦", 0.02, 0.3),
    ("万", 0.05, 0.2),
)

# Common given-name characters (~150), male-leaning and female-leaning.
GIVEN_MALE = (
    "伟强磊军勇杰涛斌超明辉鹏华建国志文俊峰宇浩宏龙晨阳凯鑫林东波海健彬平荣成毅飞坤榕锦泉"
    "春金水财福德泽航博然轩睿哲霖铭诚庆忠家炳清振兴耀祥瑞恒鸿嘉晖昌源发达进良"
)
GIVEN_FEMALE = (
    "芳娜敏静丽艳娟霞燕玲婷雪琳洁梅萍红琴云莉颖慧欣怡佳琪涵晶丹倩蓉秀淑美珍凤兰菊月妍萱诗"
    "雨梦蕾瑶晓雅惠玉碧素珊彩虹菲薇思悦馨琼莹岚"
)
TWO_CHAR_GIVEN_SHARE = 0.8

# Compound (小区) names: a prefix and a suffix, distinct within a community.
COMPOUND_PREFIXES = (
    "桂香",
    "金山",
    "海景",
    "东湖",
    "阳光",
    "刺桐",
    "温陵",
    "清源",
    "紫云",
    "世纪",
    "锦绣",
    "华侨",
    "滨江",
    "江滨",
    "宝龙",
    "万达",
    "泰禾",
    "中骏",
    "世茂",
    "融侨",
    "建发",
    "东海",
    "西湖",
    "北峰",
    "南俊",
    "云谷",
    "龙湖",
    "星光",
    "丰泽",
    "百源",
    "聚龙",
    "溪亭",
    "涂山",
    "新华",
    "泉秀",
    "浦西",
    "田安",
    "城东",
    "金帝",
    "美山",
    "凤凰",
    "书香",
    "御景",
    "碧水",
    "蓝天",
    "绿城",
    "佳盛",
    "源和",
    "海峡",
    "福海",
    "华大",
    "学府",
    "东方",
    "瑞祥",
    "君悦",
    "天福",
    "恒祥",
    "鸿运",
    "怡景",
    "嘉福",
)
COMPOUND_SUFFIXES = (
    "花园",
    "小区",
    "新村",
    "公寓",
    "苑",
    "家园",
    "大厦",
    "华庭",
    "山庄",
    "雅居",
    "名城",
    "广场",
    "城",
    "府",
    "湾",
    "里",
    "佳园",
    "新城",
    "花苑",
    "嘉园",
)

# Mainland mobile prefixes (China Mobile weighted up: it has the most subscribers).
PHONE_PREFIXES = np.array(
    [
        134,
        135,
        136,
        137,
        138,
        139,
        147,
        150,
        151,
        152,
        157,
        158,
        159,
        178,
        182,
        183,
        184,
        187,
        188,
        198,
        130,
        131,
        132,
        145,
        155,
        156,
        166,
        175,
        176,
        185,
        186,
        133,
        149,
        153,
        173,
        177,
        180,
        181,
        189,
        191,
        199,
    ],
    dtype=np.int64,
)
PHONE_PREFIX_W = np.array([1.5] * 20 + [1.0] * 11 + [1.0] * 10)
PHONE_PREFIX_W[np.isin(PHONE_PREFIXES, [145, 147, 149])] = 0.2  # mostly data cards


@dataclass(frozen=True)
class Divisions:
    """Quanzhou's counties, towns and communities as parallel NumPy arrays (sorted by code).

    ``town_county``, ``community_town`` and ``community_county`` are indices into the parent arrays.
    """

    county_code: np.ndarray
    county_name: np.ndarray
    county_residents: np.ndarray
    town_code: np.ndarray
    town_name: np.ndarray
    town_county: np.ndarray
    community_code: np.ndarray
    community_name: np.ndarray
    community_town: np.ndarray
    community_county: np.ndarray

    @property
    def community_short_name(self) -> np.ndarray:
        """'金山社区居委会' → '金山社区', '双溪村委会' → '双溪村': the name used in addresses."""
        return np.array([short_community_name(s) for s in self.community_name])

    @property
    def community_is_village(self) -> np.ndarray:
        return np.char.endswith(self.community_name.astype(str), "村委会")


def short_community_name(name: str) -> str:
    if name.endswith("村委会"):
        return name[:-2]
    if name.endswith(("居委会", "居民会")):
        return name[:-3]
    return name


def _read_csv(name: str) -> list[dict[str, str]]:
    path = resources.files("lianfang.geo") / "data" / name
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def load_divisions() -> Divisions:
    """Read the shipped Quanzhou division CSVs (counties, towns, communities, 2021 residents)."""
    counties = sorted(_read_csv("quanzhou-counties.csv"), key=lambda r: r["code"])
    towns = sorted(_read_csv("quanzhou-towns.csv"), key=lambda r: r["code"])
    comms = sorted(_read_csv("quanzhou-communities.csv"), key=lambda r: r["code"])
    residents = {
        r["county_code"]: int(r["residents_2021"] or 0) for r in _read_csv("quanzhou-population.csv")
    }

    county_index = {r["code"]: i for i, r in enumerate(counties)}
    town_index = {r["code"]: i for i, r in enumerate(towns)}
    return Divisions(
        county_code=np.array([r["code"] for r in counties], dtype="U6"),
        county_name=np.array([r["name"] for r in counties]),
        county_residents=np.array([residents.get(r["code"], 0) for r in counties], dtype=np.int64),
        town_code=np.array([r["code"] for r in towns], dtype="U9"),
        town_name=np.array([r["name"] for r in towns]),
        town_county=np.array([county_index[r["areaCode"]] for r in towns], dtype=np.int64),
        community_code=np.array([r["code"] for r in comms], dtype="U12"),
        community_name=np.array([r["name"] for r in comms]),
        community_town=np.array([town_index[r["streetCode"]] for r in comms], dtype=np.int64),
        community_county=np.array([county_index[r["areaCode"]] for r in comms], dtype=np.int64),
    )


_DIVISIONS: Divisions | None = None


def _default_divisions() -> Divisions:
    global _DIVISIONS
    if _DIVISIONS is None:
        _DIVISIONS = load_divisions()
    return _DIVISIONS


# --------------------------------------------------------------------------------------------------
# Distributions


def census_age_distribution() -> np.ndarray:
    """P(age = a) for a in 0..MAX_AGE, matching the 2020 census band shares exactly."""
    ages = np.arange(MAX_AGE + 1)
    w = np.zeros(MAX_AGE + 1)

    def band(lo: int, hi: int, share: float, shape: np.ndarray) -> None:
        w[lo : hi + 1] = share * shape / shape.sum()

    child = np.ones(15)
    child[:3] = [0.8, 0.9, 0.95]  # fewer births in 2019–2021
    band(0, 14, 0.2062, child)
    working = np.interp(np.arange(15, 60), [15, 20, 25, 45, 55, 59], [0.8, 0.95, 1.15, 1.0, 0.85, 0.8])
    band(15, 59, 0.6617, working)
    band(60, 64, 0.1321 - 0.0900, np.ones(5))
    old = ages[65:]
    band(65, MAX_AGE, 0.0900, np.exp(-0.06 * (old - 65) - 0.15 * np.clip(old - 80, 0, None)))
    return w


def _head_distribution(target: np.ndarray) -> np.ndarray:
    headship = np.interp(np.arange(MAX_AGE + 1), [19, 20, 25, 30], [0.0, 0.3, 0.6, 1.0])
    headship[:20] = 0.0
    h = target * headship
    return h / h.sum()


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if total == 0 or w.sum() == 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


def _draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Categorical draw by inverse CDF (much faster than ``rng.choice(p=...)`` for big sizes)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1)


# --------------------------------------------------------------------------------------------------
# String helpers


def _digits_to_strings(numbers: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers → zero-padded fixed-width ASCII strings, built straight into Arrow buffers."""
    mat = np.empty((len(numbers), width), dtype=np.uint8)
    k = numbers.astype(np.int64, copy=True)
    for i in range(width - 1, -1, -1):
        mat[:, i] = 48 + k % 10
        k //= 10
    return _fixed_width(mat)


def _fixed_width(mat: np.ndarray) -> pa.Array:
    n, width = mat.shape
    if n * width < 2**31 - 1:
        typ, off_dtype = pa.string(), np.int32
    else:
        typ, off_dtype = pa.large_string(), np.int64
    offsets = np.arange(0, (n + 1) * width, width, dtype=off_dtype)
    data = np.ascontiguousarray(mat).reshape(-1)
    return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _take(values, indices: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, type=pa.string()), pa.array(indices))


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _int_str(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _unique_redraw(key: np.ndarray, redraw, max_rounds: int = 100) -> np.ndarray:
    """Re-draw ``key`` at every row that repeats an earlier row's key until all keys are distinct.

    ``redraw(rows)`` returns new keys for those rows. Modifies and returns ``key``.
    """
    for _ in range(max_rounds):
        order = np.argsort(key, kind="stable")
        sk = key[order]
        dup = order[1:][sk[1:] == sk[:-1]]
        if len(dup) == 0:
            return key
        key[dup] = redraw(dup)
    raise RuntimeError("could not make keys unique; the key space is too small for this population")


# --------------------------------------------------------------------------------------------------
# The generator


def generate_population(
    n: int,
    *,
    seed: int = 2022,
    today: dt.date | None = None,
    divisions: Divisions | None = None,
) -> pa.Table:
    """``n`` synthetic residents of Quanzhou as an Arrow table, one row per person.

    Rows come grouped by community and household. Deterministic for a given ``n``, ``seed`` and
    ``today`` (default :data:`DEFAULT_TODAY`, not the real clock).
    """
    n = int(n)
    if n < 0:
        raise ValueError("n must be non-negative")
    today = today or DEFAULT_TODAY
    div = divisions if divisions is not None else _default_divisions()
    rng = np.random.default_rng(seed)
    nc = len(div.community_code)

    # 1–2. People per county (exact shares), then per community (skewed weights).
    per_county = _largest_remainder(n, div.county_residents)
    town_w = rng.lognormal(0.0, 0.6, len(div.town_code))
    comm_w = rng.lognormal(0.0, 0.8, nc)
    names = div.community_name.astype(str)
    kind = np.where(np.char.endswith(names, "居委会"), 2.0, 1.0)
    kind[np.char.find(names, "虚拟") >= 0] = 0.1
    kind[np.char.endswith(names, "生活区")] = 0.3
    weight = town_w[div.community_town] * comm_w * kind
    counts = np.zeros(nc, dtype=np.int64)
    for c, pop in enumerate(per_county):
        if pop == 0:
            continue
        idx = np.flatnonzero(div.community_county == c)
        # A floor of 7 people (more than the largest household) survives the snapping in step 3, so
        # from n ≈ 100,000 on every community has residents; at most half the people go to floors.
        base = min(7, pop // (2 * len(idx)))
        w = weight[idx] / weight[idx].sum()
        counts[idx] = base + rng.multinomial(pop - base * len(idx), w)

    # 3. Households: one global size sequence; community boundaries snapped to household ends.
    guess = max(16, int(n / 2.4) + 16)
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, 1 + _draw(rng, HOUSEHOLD_SIZE_P, guess)])
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n)) if n else -1
    sizes, ends = sizes[: last + 1], ends[: last + 1]
    if n:
        sizes[-1] -= ends[-1] - n
        ends[-1] = n
    bounds = np.cumsum(counts)
    ends0 = np.concatenate([[0], ends])
    hi = np.minimum(np.searchsorted(ends0, bounds), len(ends0) - 1)
    lo = np.maximum(hi - 1, 0)
    snapped = np.where(bounds - ends0[lo] <= ends0[hi] - bounds, ends0[lo], ends0[hi])
    hh_comm = np.searchsorted(snapped, ends, side="left")
    n_hh = len(sizes)
    hh_start = ends - sizes
    hh_of = np.repeat(np.arange(n_hh), sizes)
    is_head = np.zeros(n, dtype=bool)
    is_head[hh_start] = True
    comm_of = hh_comm[hh_of]
    hh_serial = np.arange(n_hh) - np.searchsorted(hh_comm, hh_comm, side="left") + 1
    hh_per_comm = np.bincount(hh_comm, minlength=nc)

    # 4. Dwellings: compounds (or village groups) per community, one distinct slot per household.
    is_village = div.community_is_village
    comp_name: list[str] = []
    comp_params: list[tuple[int, int, int, int]] = []  # buildings, units, floors, rooms per floor
    comm_slot_offset = np.zeros(nc, dtype=np.int64)
    hh_slot = np.empty(n_hh, dtype=np.int64)
    n_combos = len(COMPOUND_PREFIXES) * len(COMPOUND_SUFFIXES)
    floor_choices = np.array([5, 6, 7, 8, 11, 18, 26, 32])
    floor_p = np.array([0.15, 0.2, 0.15, 0.1, 0.15, 0.15, 0.05, 0.05])
    total_cap = 0
    first_hh = np.searchsorted(hh_comm, np.arange(nc))
    for c in np.flatnonzero(hh_per_comm):
        h = int(hh_per_comm[c])
        needed = int(np.ceil(h / rng.uniform(0.6, 0.95)))
        cap = 0
        params: list[tuple[int, int, int, int]] = []
        if is_village[c]:
            while cap < needed:
                for _ in range(int(rng.integers(3, 10)) if not params else 1):
                    houses = int(rng.integers(20, 120))
                    params.append((houses, 1, 1, 1))
                    cap += houses
            comp_name.extend(f"{g + 1}组" for g in range(len(params)))
        else:
            while cap < needed and len(params) < n_combos:
                b = int(rng.integers(2, 25))
                u = int(rng.integers(1, 4))
                f = int(floor_choices[_draw(rng, floor_p, 1)[0]])
                r = int(rng.integers(2, 5))
                params.append((b, u, f, r))
                cap += b * u * f * r
            if cap < h:  # only if a community has more households than 1,200 compounds hold
                raise ValueError(f"community {div.community_code[c]} cannot house {h} households")
            picks = rng.choice(n_combos, len(params), replace=False)
            comp_name.extend(
                COMPOUND_PREFIXES[p // len(COMPOUND_SUFFIXES)] + COMPOUND_SUFFIXES[p % len(COMPOUND_SUFFIXES)]
                for p in picks
            )
        comp_params.extend(params)
        comm_slot_offset[c] = total_cap
        start = first_hh[c]
        hh_slot[start : start + h] = total_cap + rng.choice(cap, h, replace=False)
        total_cap += cap

    params_arr = np.array(comp_params, dtype=np.int64).reshape(-1, 4)
    comp_cap = params_arr.prod(axis=1)
    comp_end = np.cumsum(comp_cap)
    hh_comp = np.searchsorted(comp_end, hh_slot, side="right")
    local = hh_slot - (comp_end - comp_cap)[hh_comp]
    pb, pu, pf, pr = (params_arr[hh_comp, i] for i in range(4))
    room = local % pr + 1
    local //= pr
    floor = local % pf + 1
    local //= pf
    unit = local % pu + 1
    bldg = local // pu + 1

    hh_village = is_village[hh_comm]
    comp_str = _take(comp_name, hh_comp)
    bldg_str = _join(_int_str(bldg), _take(["栋", "号"], hh_village.astype(np.int8)))
    short = _take(div.community_short_name, hh_comm)
    urban_addr = _join(
        short,
        pa.scalar(" "),
        comp_str,
        bldg_str,
        _int_str(unit),
        pa.scalar("单元"),
        _int_str(floor * 100 + room),
        pa.scalar("室"),
    )
    village_addr = _join(short, comp_str, bldg_str)
    hh_address = pc.if_else(pa.array(hh_village), village_addr, urban_addr)
    serial_width = max(5, len(str(int(hh_serial.max())))) if n_hh else 5
    hh_code = _join(
        _take(div.community_code, hh_comm), pc.utf8_lpad(_int_str(hh_serial), width=serial_width, padding="0")
    )

    # 5. Ages and birth dates; sex.
    target = census_age_distribution()
    heads = _head_distribution(target)
    share_heads = n_hh / n if n else 0.0
    others = np.clip(target - share_heads * heads, 0.0, None)
    age = np.empty(n, dtype=np.int64)
    age[is_head] = _draw(rng, heads, n_hh)
    if n > n_hh:
        age[~is_head] = _draw(rng, others, n - n_hh)
    win_hi = np.array([np.datetime64(_years_before(today, a), "D") for a in range(MAX_AGE + 1)])
    win_lo = np.array([np.datetime64(_years_before(today, a + 1), "D") + 1 for a in range(MAX_AGE + 1)])
    win_len = (win_hi - win_lo).astype(np.int64) + 1
    birth = win_lo[age] + (rng.random(n) * win_len[age]).astype(np.int64)
    male = rng.random(n) < MALE_SHARE

    # 6. Household origin (region prefix) and names.
    migrant_hh = rng.random(n_hh) < MIGRANT_HOUSEHOLD_SHARE
    other_w = np.array([w for _, w in OTHER_PREFIXES])
    hh_prefix = div.county_code[div.community_county[hh_comm]].astype(np.int64)
    other_codes = np.array([int(c) for c, _ in OTHER_PREFIXES], dtype=np.int64)
    hh_prefix[migrant_hh] = other_codes[_draw(rng, other_w, int(migrant_hh.sum()))]
    prefix = hh_prefix[hh_of]
    migrant = migrant_hh[hh_of]

    local_w = np.array([s[1] for s in SURNAMES])
    national_w = np.array([s[2] for s in SURNAMES])
    hh_surname = np.where(migrant_hh, _draw(rng, national_w, n_hh), _draw(rng, local_w, n_hh))
    own_surname = np.where(migrant, _draw(rng, national_w, n), _draw(rng, local_w, n))
    surname = np.where(rng.random(n) < 0.7, hh_surname[hh_of], own_surname)
    given = np.array(list(GIVEN_MALE) + list(GIVEN_FEMALE) + [""])
    nm, nf = len(GIVEN_MALE), len(GIVEN_FEMALE)
    g1 = np.where(male, rng.integers(0, nm, n), nm + rng.integers(0, nf, n))
    g2 = np.where(male, rng.integers(0, nm, n), nm + rng.integers(0, nf, n))
    g2[rng.random(n) >= TWO_CHAR_GIVEN_SHARE] = len(given) - 1
    name = _join(_take([s[0] for s in SURNAMES], surname), _take(given, g1), _take(given, g2))

    # 7. Resident IDs: prefix + yyyymmdd + 3-digit sequence (odd last digit: male) + check digit.
    b_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    b_month_start = birth.astype("datetime64[M]")
    b_month = b_month_start.astype(np.int64) % 12 + 1
    b_day = (birth - b_month_start.astype("datetime64[D]")).astype(np.int64) + 1
    ymd = b_year * 10000 + b_month * 100 + b_day
    base_key = prefix * 10**11 + ymd * 1000

    def draw_seq(rows: np.ndarray) -> np.ndarray:
        parity = np.where(male[rows], 1, 0)
        return rng.integers(0, 100, len(rows)) * 10 + rng.integers(0, 5, len(rows)) * 2 + parity

    key = base_key + draw_seq(np.arange(n))
    key = _unique_redraw(key, lambda rows: base_key[rows] + draw_seq(rows))
    mat = np.empty((n, 18), dtype=np.uint8)
    total = np.zeros(n, dtype=np.int64)
    k = key.copy()
    for i in range(16, -1, -1):
        d = k % 10
        mat[:, i] = 48 + d
        total += d * ID_WEIGHTS[i]
        k //= 10
    mat[:, 17] = ID_CHECK_CHARS[total % 11]
    id_number = _fixed_width(mat)
    del mat, k, total

    # 8. Phones: prefix + 8 random digits, unique.
    phone_prefix = PHONE_PREFIXES[_draw(rng, PHONE_PREFIX_W, n)] * 10**8
    phone = phone_prefix + rng.integers(0, 10**8, n)
    phone = _unique_redraw(phone, lambda rows: phone_prefix[rows] + rng.integers(0, 10**8, len(rows)))

    # 9. Tags.
    hh_size_of = sizes[hh_of]
    female = ~male
    bits = np.zeros(n, dtype=np.int64)
    old = age >= 65
    n_old = int(old.sum())
    want_alone = 0.06 * n_old
    alone_pool = old & (hh_size_of == 1)
    n_pool = int(alone_pool.sum())
    u = rng.random(n)
    if n_pool >= want_alone:
        alone = alone_pool & (u < (want_alone / n_pool if n_pool else 0.0))
    else:
        rest = old & ~alone_pool
        alone = alone_pool | (rest & (u < (want_alone - n_pool) / max(int(rest.sum()), 1)))
    u = rng.random(n)
    bedridden = np.where(age >= 75, u < 0.03, (age >= 3) & (u < 0.002))
    adult = age >= 18
    dialysis_p = 0.0005 * n / max(int(adult.sum()), 1)
    flags = (
        bedridden,
        alone,
        age < 3,
        female & (age >= 20) & (age <= 40) & (rng.random(n) < 0.015),
        adult & (rng.random(n) < dialysis_p),
        rng.random(n) < 0.015,
    )
    for i, flag in enumerate(flags):
        bits |= flag.astype(np.int64) << i
    tag_strings = [";".join(t for i, t in enumerate(TAGS) if m >> i & 1) for m in range(1 << len(TAGS))]
    tags = _take(tag_strings, bits)

    # 10. Assemble.
    comm_codes = pa.array(div.community_code, type=pa.string())
    county_of_comm = div.county_code[div.community_county]
    town_of_comm = div.town_code[div.community_town]
    hh_idx = pa.array(hh_of)
    return pa.table(
        {
            "id_type": _take(["resident_id"], np.zeros(n, dtype=np.int8)),
            "id_number": id_number,
            "name": name,
            "phone": _digits_to_strings(phone, 11),
            "community_code": pc.take(comm_codes, pa.array(comm_of)),
            "town_code": _take(town_of_comm, comm_of),
            "county_code": _take(county_of_comm, comm_of),
            "address": pc.take(hh_address, hh_idx),
            "compound": pc.take(comp_str, hh_idx),
            "building": pc.take(bldg_str, hh_idx),
            "household": pc.take(hh_code, hh_idx),
            "birth_date": pa.array(birth.astype("datetime64[D]"), type=pa.date32()),
            "sex": _take(["F", "M"], male.astype(np.int8)),
            "tags": tags,
        }
    )
