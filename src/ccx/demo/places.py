"""Where the synthetic firms are, and what they are called: regions with their weights and
places, KSIC divisions with their weights, and name parts (Korean with a romanisation).

The weights are assumptions for a demo, not statistics: about half of the firms in the
capital region (Seoul, Gyeonggi, Incheon), manufacturing the largest section (see
docs/demo-population.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ccx.registry.types import Region

REGION_WEIGHTS = (
    (Region.SEOUL, 220),
    (Region.GYEONGGI, 250),
    (Region.INCHEON, 50),
    (Region.BUSAN, 65),
    (Region.DAEGU, 45),
    (Region.GWANGJU, 28),
    (Region.DAEJEON, 28),
    (Region.ULSAN, 20),
    (Region.SEJONG, 6),
    (Region.GANGWON, 25),
    (Region.CHUNGBUK, 33),
    (Region.CHUNGNAM, 42),
    (Region.JEONBUK, 30),
    (Region.JEONNAM, 32),
    (Region.GYEONGBUK, 50),
    (Region.GYEONGNAM, 62),
    (Region.JEJU, 14),
)
"""Relative weights (they add up to 1,000): 52 % in the capital region."""

REGION_PLACES = {
    Region.SEOUL: ("서울특별시", ("강남구", "서초구", "마포구", "구로구", "금천구", "성동구")),
    Region.BUSAN: ("부산광역시", ("해운대구", "강서구", "사상구", "남구")),
    Region.DAEGU: ("대구광역시", ("달서구", "북구", "동구")),
    Region.INCHEON: ("인천광역시", ("연수구", "남동구", "서구", "중구")),
    Region.GWANGJU: ("광주광역시", ("북구", "광산구", "서구")),
    Region.DAEJEON: ("대전광역시", ("유성구", "대덕구", "서구")),
    Region.ULSAN: ("울산광역시", ("남구", "북구", "동구", "울주군")),
    Region.SEJONG: ("세종특별자치시", ("조치원읍", "연기면", "한솔동")),
    Region.GYEONGGI: (
        "경기도",
        ("성남시 분당구", "수원시 영통구", "화성시", "안산시 단원구", "평택시", "시흥시"),
    ),
    Region.GANGWON: ("강원특별자치도", ("춘천시", "원주시", "강릉시")),
    Region.CHUNGBUK: ("충청북도", ("청주시 흥덕구", "충주시", "진천군")),
    Region.CHUNGNAM: ("충청남도", ("천안시 서북구", "아산시", "당진시", "서산시")),
    Region.JEONBUK: ("전북특별자치도", ("전주시 덕진구", "군산시", "익산시")),
    Region.JEONNAM: ("전라남도", ("해남군", "여수시", "목포시", "영암군", "나주시")),
    Region.GYEONGBUK: ("경상북도", ("포항시 남구", "구미시", "경산시")),
    Region.GYEONGNAM: ("경상남도", ("창원시 성산구", "거제시", "김해시", "진주시")),
    Region.JEJU: ("제주특별자치도", ("제주시", "서귀포시")),
}
"""Each region's name as written in addresses, and some of its districts."""

ROADS = (
    "중앙로", "산업로", "테크노로", "첨단로", "과학로", "공단로",
    "대학로", "혁신로", "디지털로", "해안로", "신항로", "벤처로",
)  # fmt: skip

KSIC_WEIGHTS = (
    ("C10", 30), ("C20", 30), ("C21", 40), ("C22", 20), ("C24", 15), ("C25", 40),
    ("C26", 60), ("C27", 30), ("C28", 30), ("C29", 50), ("C30", 50), ("C31", 30),
    ("C32", 10), ("C33", 10),
    ("J58", 30), ("J62", 100), ("J63", 50),
    ("M70", 40), ("M71", 10), ("M72", 30), ("M73", 20),
    ("G46", 60), ("G47", 40),
    ("H49", 20), ("H50", 10), ("H52", 30),
    ("Q86", 40), ("F41", 20), ("E38", 10), ("N75", 10), ("P85", 10),
)  # fmt: skip
"""KSIC divisions of demand firms with relative weights: manufacturing (C10-C33) 44 %,
information and communication (J58-J63) 18 %, professional and scientific (M70-M73) 10 %,
wholesale and retail 10 %, transport and storage (H49-H52) 6 %, the rest health,
construction, waste, business support and education."""


@dataclass(frozen=True, slots=True)
class Vertical:
    """An industry with a consortium: its KSIC industry, the anchor's division, its regions."""

    name: str
    industry: str
    anchor_ksic: str
    regions: tuple[Region, ...]


VERTICALS = (
    Vertical(
        "자동차부품 AI 컨소시엄 (auto parts)",
        "C30",
        "C30",
        (Region.ULSAN, Region.GYEONGGI, Region.GYEONGNAM, Region.CHUNGNAM),
    ),
    Vertical(
        "조선해양 AI 컨소시엄 (shipbuilding)",
        "C31",
        "C31",
        (Region.ULSAN, Region.GYEONGNAM, Region.BUSAN, Region.JEONNAM),
    ),
    Vertical(
        "스마트물류 AI 컨소시엄 (logistics)",
        "H",
        "H52",
        (Region.BUSAN, Region.INCHEON, Region.GYEONGGI),
    ),
    Vertical(
        "바이오헬스 AI 컨소시엄 (bio)",
        "C21",
        "C21",
        (Region.INCHEON, Region.CHUNGBUK, Region.GYEONGGI),
    ),
    Vertical(
        "전자부품 AI 컨소시엄 (electronic components)",
        "C26",
        "C26",
        (Region.GYEONGGI, Region.GYEONGBUK, Region.CHUNGNAM),
    ),
    Vertical(
        "기계장비 AI 컨소시엄 (machinery)",
        "C29",
        "C29",
        (Region.GYEONGNAM, Region.DAEGU, Region.GYEONGBUK),
    ),
)
"""The vertical consortia (MOTIE's 2025 industrial-AI consortia are the model: a mid-sized
manufacturer leads, with an AI supplier and a university)."""

NAME_STEMS = (
    ("한빛", "hanbit"), ("새솔", "saesol"), ("다온", "daon"), ("누리", "nuri"),
    ("세움", "seum"), ("미래", "mirae"), ("동방", "dongbang"), ("대성", "daeseong"),
    ("우진", "woojin"), ("태광", "taegwang"), ("삼원", "samwon"), ("청림", "cheongrim"),
    ("푸른", "pureun"), ("가온", "gaon"), ("하람", "haram"), ("나래", "narae"),
    ("별빛", "byeolbit"), ("동해", "donghae"), ("서해", "seohae"), ("금강", "geumgang"),
    ("지성", "jiseong"), ("유진", "yujin"), ("한울", "hanul"), ("은하", "eunha"),
    ("마루", "maru"), ("초록", "chorok"), ("온누리", "onnuri"), ("빛가람", "bitgaram"),
)  # fmt: skip

INDUSTRY_SUFFIXES = {
    "C21": (("바이오", "bio"), ("제약", "pharm")),
    "C26": (("전자", "electronics"), ("반도체", "semicon")),
    "C30": (("오토텍", "autotech"), ("모빌리티", "mobility")),
    "C31": (("조선기자재", "marine"), ("해양", "ocean")),
    "C": (("정밀", "precision"), ("산업", "industry"), ("테크", "tech"), ("소재", "materials")),
    "J": (("소프트", "soft"), ("랩스", "labs"), ("데이터", "data")),
    "M": (("연구소", "research"), ("엔지니어링", "engineering")),
    "G": (("상사", "trading"), ("유통", "distribution")),
    "H": (("로지스", "logis"), ("물류", "logistics"), ("해운", "shipping")),
    "Q": (("메디컬", "medical"), ("헬스케어", "healthcare")),
}
"""Name suffixes by KSIC division or section (the longest match wins)."""
OTHER_SUFFIXES = (("산업", "industry"), ("코리아", "korea"))
INTEGRATOR_SUFFIXES = (
    ("시스템즈", "systems"), ("AI솔루션", "aisolutions"), ("인포텍", "infotech"),
    ("클라우드", "cloud"), ("아이앤씨", "inc"),
)  # fmt: skip

SURNAMES = (
    ("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi"), ("정", "jung"),
    ("강", "kang"), ("조", "cho"), ("윤", "yoon"), ("장", "jang"), ("임", "lim"),
)  # fmt: skip
GIVEN_NAMES = (
    ("민준", "minjun"), ("서연", "seoyeon"), ("지훈", "jihun"), ("하은", "haeun"),
    ("도윤", "doyun"), ("수아", "sua"), ("현우", "hyeonu"), ("지민", "jimin"),
    ("예준", "yejun"), ("채원", "chaewon"), ("성호", "seongho"), ("미경", "mikyeong"),
)  # fmt: skip

BUSINESS_GROUPS = (
    "삼성",
    "SK",
    "현대자동차",
    "LG",
    "롯데",
    "포스코",
    "한화",
    "HD현대",
    "농협",
    "GS",
)
"""The ten largest KFTC-designated business groups of 2025 by assets (newspim 2025-05-01)."""
