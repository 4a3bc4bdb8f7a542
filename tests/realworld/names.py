"""Given names and words in the scripts people's email addresses are written in.

Real addresses are names and words, not random code points: these are common given names (and a
few domain words) per script, written as their speakers write them. `addresses()` builds the
usual shapes from them: name@, name.surname@, name123@, and internationalised domains.
"""

from __future__ import annotations

import random

NAMES: dict[str, list[str]] = {
    "german": ["Jürgen", "Jörg", "Günther", "Käthe", "Müller", "Straße", "Björn", "Ölmez"],
    "french": ["François", "Hélène", "Zoë", "Gaëlle", "Jérôme", "Cécile", "Noël", "Œdipe"],
    "spanish": ["José", "María", "Núñez", "Ángel", "Begoña", "Iñaki", "Ramón", "Lucía"],
    "polish": ["Łukasz", "Wojciech", "Zofia", "Małgorzata", "Paweł", "Żaneta", "Jędrzej", "Ślęzak"],
    "czech": ["Jiří", "Růžena", "Přemysl", "Tomáš", "Kateřina", "Čeněk", "Šárka", "Ďuriš"],
    "turkish": ["Şükrü", "İsmail", "Gülşen", "Çağla", "Ömer", "Ağça", "Ilgın", "Doğan"],
    "vietnamese": ["Nguyễn", "Phạm", "Trần", "Huỳnh", "Đặng", "Vũ", "Hương", "Thắng"],
    "icelandic": ["Þórunn", "Guðrún", "Sigurður", "Ævar", "Jóhanna", "Þór", "Björk", "Ásgeir"],
    "greek": ["Γιώργος", "Μαρία", "Δημήτρης", "Ελένη", "Νίκος", "Σοφία", "Αθηνά", "Κώστας"],
    "russian": ["Александр", "Дмитрий", "Наталья", "Юлия", "Сергей", "Ёлка", "Пётр", "Ирина"],
    "ukrainian": ["Олександр", "Їжак", "Ігор", "Євген", "Ґанна", "Тетяна", "Юрій", "Оксана"],
    "armenian": ["Արամ", "Անի", "Գևորգ", "Նարե", "Տիգրան", "Սոնա", "Հայկ", "Լուսինե"],
    "georgian": ["გიორგი", "ნინო", "დავით", "თამარ", "ლევან", "მარიამ", "ნიკა", "ანა"],
    "hebrew": ["דוד", "שרה", "יוסף", "מיכל", "אברהם", "רחל", "נועה", "יעקב"],
    "arabic": ["محمد", "فاطمة", "أحمد", "عائشة", "علي", "مريم", "يوسف", "خديجة"],
    "persian": ["علیرضا", "زهرا", "پرویز", "گلاره", "مهدی", "نگار", "کوروش", "ژاله"],
    "hindi": ["अनिल", "प्रिया", "राहुल", "स्नेहा", "विकास", "अंजलि", "सुरेश", "दीपिका"],
    "bengali": ["অমিত", "সুমি", "রাহুল", "প্রিয়া", "সৌরভ", "দীপা", "অর্জুন", "তানিয়া"],
    "tamil": ["முருகன்", "லட்சுமி", "கார்த்திக்", "பிரியா", "சுரேஷ்", "கவிதா", "அருண்", "மீனா"],
    "thai": ["สมชาย", "สมหญิง", "ประเสริฐ", "วิไล", "อนุชา", "มาลี", "ธนา", "ปิยะ"],
    "chinese": ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"],
    "japanese": ["たろう", "はなこ", "ユウキ", "サクラ", "太郎", "花子", "翔太", "美咲"],
    "korean": ["민준", "서연", "지훈", "하은", "도윤", "지우", "서준", "수아"],
    "amharic": ["አበበ", "ከበደ", "ሰላም", "መሰረት", "ዮሐንስ", "ሄለን", "ታደሰ", "ብርሃን"],
}
DOMAINS = [
    "example.com", "bücher.example", "münchen.de", "пример.рф", "例え.jp", "中文网.中国", "παράδειγμα.ελ",
    "مثال.إختبار", "उदाहरण.भारत", "도메인.한국", "ตัวอย่าง.ไทย", "xn--mnchen-3ya.de", "EXAMPLE.COM",
]  # fmt: skip


def addresses(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(script, address) pairs in the shapes people's addresses take."""
    pairs = []
    scripts = list(NAMES)
    for _ in range(count):
        script = rng.choice(scripts)
        first, last = rng.choice(NAMES[script]), rng.choice(NAMES[script])
        local = rng.choice(
            [
                first,
                f"{first}.{last}",
                f"{first}{rng.randint(1, 1999)}",
                f"{first}_{last}",
                f"{first}+licenses",
            ]
        )
        if rng.random() < 0.3 and script != "georgian":  # Georgian is written in one case; its
            # capitals (Mtavruli, Unicode 11) are refused as unassigned in Unicode 3.2
            local = rng.choice([local.upper(), local.lower(), local.title()])
        pairs.append((script, f"{local}@{rng.choice(DOMAINS)}"))
    return pairs
