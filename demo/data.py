"""Fixed tables for `manage.py seed_demo`: schools, bases, post templates, names, demo logins.

Everything here is plain data so the seed stays deterministic; the command decides dates.
"""

from datetime import date

DEMO_PASSWORD = "demo12345"

# (username, role, full name, what the login shows); the order is the order printed.
DEMO_LOGINS = [
    ("student", "student", "", "student of the demo class (name comes from the roster)"),
    ("coordinator", "coordinator", "周晓岚", "coordinator of 徐汇区图书馆"),
    ("teacher", "head_teacher", "陈立新", "head teacher of the demo student's class"),
    ("school_admin", "school_admin", "王建华", "school admin of 上海市徐汇中学"),
    ("district_admin", "district_admin", "刘敏", "district admin of 徐汇区"),
    ("city_admin", "city_admin", "赵振宇", "city admin (also Django admin superuser)"),
    ("guardian", "guardian", "林慧", "guardian (家长) of the demo student"),
]

DEMO_SCHOOL_CODE = "31010401"
DEMO_BASE_CODE = "D-310104-01"

# (code, name, English name, district code, students)
SCHOOLS = [
    ("31010101", "上海市格致中学", "Shanghai Gezhi High School", "310101", 45),
    ("31010102", "上海市大同中学", "Shanghai Datong High School", "310101", 45),
    ("31010103", "上海市第二中学", "Shanghai No. 2 High School", "310101", 45),
    ("31010401", "上海市徐汇中学", "Shanghai Xuhui High School", "310104", 150),
    ("31010402", "上海市南洋模范中学", "Shanghai Nanyang Model High School", "310104", 45),
    ("31010403", "上海市位育中学", "Shanghai Weiyu High School", "310104", 45),
    ("31010501", "上海市延安中学", "Shanghai Yan'an High School", "310105", 45),
    ("31010601", "上海市市西中学", "Shanghai Shixi High School", "310106", 45),
    ("31010602", "上海市市北中学", "Shanghai Shibei High School", "310106", 45),
    ("31010701", "上海市曹杨第二中学", "Shanghai Caoyang No. 2 High School", "310107", 45),
    ("31010901", "上海市复兴高级中学", "Shanghai Fuxing High School", "310109", 45),
    ("31011001", "上海市控江中学", "Shanghai Kongjiang High School", "310110", 45),
    ("31011201", "上海市七宝中学", "Shanghai Qibao High School", "310112", 45),
    ("31011301", "上海市行知中学", "Shanghai Xingzhi High School", "310113", 45),
    ("31011401", "上海市嘉定区第一中学", "Jiading No. 1 High School", "310114", 45),
    ("31011501", "上海市建平中学", "Shanghai Jianping High School", "310115", 45),
    ("31011502", "上海市进才中学", "Shanghai Jincai High School", "310115", 45),
    ("31011701", "上海市松江二中", "Songjiang No. 2 High School", "310117", 45),
    ("31011801", "上海市青浦高级中学", "Qingpu High School", "310118", 45),
    ("31015101", "上海市崇明中学", "Chongming High School", "310151", 45),
]

# code | level | kind (picks the post templates) | name | address ("-" for none)
_BASES_TABLE = """
C-310104-01 | city | library | 上海图书馆 | 徐汇区淮海中路
C-310101-01 | city | museum | 上海博物馆 | 黄浦区人民大道
C-310115-01 | city | art | 中华艺术宫 | 浦东新区上南路
C-310115-02 | city | science | 上海科技馆 | 浦东新区世纪大道
C-310104-02 | city | hospital | 上海市第六人民医院 | 徐汇区宜山路
C-310106-01 | city | science | 上海自然博物馆 | 静安区北京西路
C-310101-02 | city | memorial | 中共一大纪念馆 | 黄浦区黄陂南路
C-310118-01 | city | camp | 东方绿舟青少年校外活动营地 | 青浦区沪青平公路
C-310104-03 | city | park | 上海植物园 | 徐汇区龙吴路
C-310112-01 | city | safety | 上海市青少年公共安全教育实训基地 | 闵行区
C-310151-01 | city | park | 崇明东滩湿地公园 | 崇明区陈家镇
C-310101-03 | city | metro | 上海地铁人民广场站 | -
D-310104-01 | district | library | 徐汇区图书馆 | 徐汇区南丹东路
D-310104-02 | district | hospital | 上海市徐汇区中心医院 | 徐汇区淮海中路
D-310104-03 | district | art | 徐汇艺术馆 | 徐汇区漕溪北路
D-310106-01 | district | library | 静安区图书馆 | -
D-310105-01 | district | library | 长宁区图书馆 | -
D-310115-01 | district | library | 浦东图书馆 | 浦东新区前程路
D-310110-01 | district | library | 杨浦区图书馆 | -
D-310112-01 | district | museum | 闵行区博物馆 | -
D-310114-01 | district | museum | 嘉定博物馆 | -
D-310107-01 | district | hospital | 上海市普陀区中心医院 | -
D-310101-01 | district | redcross | 黄浦区红十字会 | -
D-310116-01 | district | painting | 金山农民画院 | -
D-310117-01 | district | safety | 松江区消防科普教育基地 | -
D-310151-01 | district | farm | 崇明区学农实践基地 | -
D-310120-01 | district | park | 海湾国家森林公园 | -
D-310113-01 | district | museum | 宝山国际民间艺术博览馆 | -
S-310104-01 | school | community | 徐家汇街道社区服务中心 | -
S-310104-02 | school | community | 天平路街道为老服务中心 | -
S-310106-01 | school | community | 静安寺街道社区服务中心 | -
S-310110-01 | school | community | 控江路街道社区服务中心 | -
S-310112-01 | school | community | 七宝镇社区服务中心 | -
S-310115-01 | school | community | 陆家嘴街道社区服务中心 | -
P-310101-01 | project | renewal | “城市微更新”社会考察项目 | -
P-310115-01 | project | river | 黄浦江滨江生态调查项目 | -
P-310104-01 | project | innovation | 青少年科技创新实践项目 | -
P-310101-02 | project | guides | 红色场馆“小小讲解员”志愿项目 | -
P-310107-01 | project | creek | 苏州河沿岸历史建筑考察项目 | -
P-310105-01 | project | waste | 垃圾分类进社区宣传项目 | -
"""
BASES = [
    tuple("" if cell == "-" else cell for cell in (part.strip() for part in line.split("|")))
    for line in _BASES_TABLE.strip().splitlines()
]
BASE_NAMES_EN = {
    "C-310104-01": "Shanghai Library",
    "C-310101-01": "Shanghai Museum",
    "C-310115-01": "China Art Museum",
    "C-310115-02": "Shanghai Science and Technology Museum",
    "C-310104-02": "Shanghai Sixth People's Hospital",
    "C-310106-01": "Shanghai Natural History Museum",
    "C-310101-02": "Memorial of the First National Congress of the CPC",
    "C-310118-01": "Oriental Land Youth Camp",
    "C-310104-03": "Shanghai Botanical Garden",
    "C-310112-01": "Shanghai Youth Public Safety Training Base",
    "C-310151-01": "Chongming Dongtan Wetland Park",
    "C-310101-03": "People's Square Metro Station",
    "D-310104-01": "Xuhui District Library",
    "D-310104-02": "Xuhui District Central Hospital",
    "D-310104-03": "Xuhui Art Museum",
    "D-310106-01": "Jing'an District Library",
    "D-310105-01": "Changning District Library",
    "D-310115-01": "Pudong Library",
    "D-310110-01": "Yangpu District Library",
    "D-310112-01": "Minhang Museum",
    "D-310114-01": "Jiading Museum",
    "D-310107-01": "Putuo District Central Hospital",
    "D-310101-01": "Huangpu District Red Cross",
    "D-310116-01": "Jinshan Peasant Painting Academy",
    "D-310117-01": "Songjiang Fire Safety Education Base",
    "D-310151-01": "Chongming Rural Practice Base",
    "D-310120-01": "Haiwan National Forest Park",
    "D-310113-01": "Baoshan International Folk Art Museum",
    "S-310104-01": "Xujiahui Subdistrict Community Service Centre",
    "S-310104-02": "Tianping Road Elderly Service Centre",
    "S-310106-01": "Jing'ansi Subdistrict Community Service Centre",
    "S-310110-01": "Kongjiang Road Community Service Centre",
    "S-310112-01": "Qibao Town Community Service Centre",
    "S-310115-01": "Lujiazui Subdistrict Community Service Centre",
    "P-310101-01": "Urban Micro-renewal Investigation Project",
    "P-310115-01": "Huangpu Riverside Ecology Survey Project",
    "P-310104-01": "Youth Science and Innovation Project",
    "P-310101-02": "Young Guides at Red Heritage Sites",
    "P-310107-01": "Suzhou Creek Heritage Architecture Project",
    "P-310105-01": "Waste Sorting Community Outreach Project",
}
# Bases not (or no longer) certified; every other base is certified.
BASE_STATUS = {
    "D-310120-01": "suspended",
    "D-310113-01": "pending",
    "P-310107-01": "pending",
}

# School-contracted bases (学校签约基地) and the schools that contract them.
CONTRACTS = {
    "S-310104-01": ["31010401", "31010402", "31010403"],
    "S-310104-02": ["31010401"],
    "S-310106-01": ["31010601", "31010602"],
    "S-310110-01": ["31011001"],
    "S-310112-01": ["31011201"],
    "S-310115-01": ["31011501", "31011502"],
}

V, SI, CE, ST, MT, RP = (
    "volunteer_service",
    "social_investigation",
    "career_experience",
    "safety_training",
    "military_training",
    "rural_practice",
)

# kind -> [(title, category code, eligible grades, description)]; the first two are always used.
POSTS = {
    "library": [
        ("图书管理员", V, "123", "协助整理、上架图书，为读者办理借还指引。"),
        ("阅览室秩序维护", V, "123", "巡视阅览室，提醒读者保持安静、爱护图书。"),
        ("少儿阅读活动助理", V, "23", "协助周末亲子阅读活动的签到、分组与材料准备。"),
        ("古籍修复职业体验", CE, "23", "在修复师指导下了解古籍保护流程，体验简单修复工序。"),
    ],
    "hospital": [
        ("医院分诊引导", V, "23", "在门诊大厅协助导医台为患者指路，讲解挂号与自助缴费流程。"),
        ("自助机使用协助", V, "123", "帮助老年患者使用自助挂号机与缴费机。"),
        ("医护职业体验", CE, "3", "跟随护士了解门诊工作，学习基本的医患沟通。"),
    ],
    "art": [
        ("艺术馆参观礼仪督导", V, "123", "在展厅提醒观众文明参观，不触摸展品、不使用闪光灯。"),
        ("展厅讲解员助理", V, "23", "协助讲解员组织观众，为青少年观众做简短导览。"),
        ("策展职业体验", CE, "23", "了解一次展览从选题到布展的工作流程。"),
    ],
    "museum": [
        ("博物馆参观礼仪督导", V, "123", "维持展厅秩序，引导观众有序参观。"),
        ("文物知识志愿讲解", V, "23", "经培训后为观众讲解指定展柜的文物故事。"),
        ("馆藏文物社会考察", SI, "123", "围绕一个主题参观馆藏并完成考察报告。"),
    ],
    "memorial": [
        ("红色场馆志愿讲解", V, "23", "经培训后为观众讲解展陈内容。"),
        ("参观秩序引导", V, "123", "在入口与展厅引导观众预约核验、有序参观。"),
    ],
    "science": [
        ("科普讲解志愿者", V, "123", "在指定展区为观众讲解展项原理。"),
        ("科学实验演示助理", V, "23", "协助科普老师准备并演示趣味实验。"),
        ("科研职业体验", CE, "3", "走进实验室，了解科研人员的日常工作。"),
    ],
    "community": [
        ("社区垃圾分类指导", V, "123", "在小区投放点指导居民分类投放，记录问题点位。"),
        ("老年人智能手机辅导", V, "123", "一对一帮助老年人使用健康码、打车与视频通话。"),
        ("社区治理社会考察", SI, "23", "走访居委会与业委会，了解社区议事流程并形成报告。"),
    ],
    "safety": [
        ("消防安全实训", ST, "123", "学习灭火器使用、火场逃生与119报警。"),
        ("应急救护技能培训", ST, "123", "学习心肺复苏与AED使用，考核合格可获证书。"),
    ],
    "camp": [
        ("国防教育营", MT, "12", "参加队列训练与国防知识讲座。"),
        ("定向越野安全实训", ST, "123", "在营地完成定向越野，学习野外安全知识。"),
    ],
    "park": [
        ("园区科普导览", V, "123", "为游客介绍园区植物与生态知识。"),
        ("湿地生态社会考察", SI, "123", "观察记录鸟类与植物，完成生态考察报告。"),
        ("园区环境维护", V, "123", "清理步道垃圾，劝导不文明行为。"),
    ],
    "metro": [
        ("地铁站文明乘车引导", V, "123", "早晚高峰在站台引导乘客先下后上、有序排队。"),
        ("车站志愿问询服务", V, "23", "在问询台为乘客指路、解答换乘问题。"),
    ],
    "redcross": [
        ("应急救护培训", ST, "123", "红十字会救护员课程的入门培训。"),
        ("无偿献血宣传志愿者", V, "23", "在献血点发放宣传资料，协助献血者登记。"),
    ],
    "painting": [
        ("农民画创作体验", CE, "123", "跟随画师了解金山农民画的构图与用色，完成一幅作品。"),
        ("画院导览志愿者", V, "123", "为参观者介绍农民画的历史与代表作品。"),
    ],
    "farm": [
        ("农耕体验", RP, "12", "参与播种、除草与收割等田间劳动。"),
        ("现代农业社会考察", SI, "123", "参观设施农业与合作社，了解农产品的生产与销售。"),
    ],
    "renewal": [
        ("城市微更新调研员", SI, "23", "走访老街区的口袋公园与里弄改造点，访谈居民。"),
        ("社区空间测绘助理", SI, "23", "协助规划师测量记录公共空间的使用情况。"),
    ],
    "river": [
        ("滨江生态调查员", SI, "123", "沿滨江步道记录水质与植被，完成调查报告。"),
        ("滨江文明劝导", V, "123", "在滨江绿地劝导不文明行为，宣传爱护环境。"),
    ],
    "innovation": [
        ("青少年科创实践", CE, "123", "在高校实验室导师指导下完成一个小课题。"),
        ("科创活动志愿者", V, "23", "协助科技节活动的签到与展位引导。"),
    ],
    "guides": [
        ("小小讲解员", V, "123", "经培训后在红色场馆担任讲解员。"),
        ("红色足迹社会考察", SI, "123", "寻访红色遗址并完成考察报告。"),
    ],
    "creek": [
        ("历史建筑考察", SI, "23", "沿苏州河考察历史建筑，记录建筑特征与保护现状。"),
        ("建筑导览志愿者", V, "23", "为市民导览活动做路线引导。"),
    ],
    "waste": [
        ("垃圾分类宣传员", V, "123", "在社区开展垃圾分类宣传，制作宣传海报。"),
        ("湿垃圾资源化考察", SI, "23", "参观湿垃圾处理设施，了解资源化利用流程。"),
    ],
}

# Common surnames in Shanghai, most frequent first (repeats weight the draw).
SURNAMES = (
    "张王陈李徐朱周沈陆顾吴黄钱杨胡刘蒋金孙施姚唐曹许赵严马郑倪潘林宋汪龚高范叶何谢秦"
    "韩袁丁邱姜邵俞蔡汤张王陈李徐朱周沈陆顾吴黄"
)
_GIVEN_NAMES = (
    "子涵 梓萱 浩然 宇轩 思琪 欣怡 一诺 雨桐 诗涵 俊杰 子轩 博文 佳怡 晨曦 家豪 嘉怡 逸凡 天佑 "
    "若曦 语嫣 昊天 明轩 雨萱 佳琪 思远 浩宇 欣妍 梓涵 可馨 心怡 宇航 子墨 文博 皓轩 一鸣 怡然 "
    "乐怡 晓彤 奕辰 嘉懿 静怡 书瑶 俊熙 泽宇 思彤 子豪 雨泽 梓轩 睿 悦 晨 杰 婷 磊 琳 涵 "
    "嘉豪 伊诺 沐阳 亦菲 诗琪 天翊 晟 铭 瑶 妍 昕 逸 慧敏 志远 思源 欣然 子怡 宇辰 涵宇 "
    "梓睿 若涵 佳宁 晨阳 雨欣 嘉琪 俊宇 一帆 诗雨 浩轩 婧 昱 辰 颖 凯 菲 皓 琪 舒 "
    "晓雯 天宇 家乐 思琦 雅琪 文轩 梦洁 一凡 紫涵 宇涵 子健 奕 依 琛 哲 毅 珂 蕾 "
    "沁怡 星辰 君豪 子昂 韵涵 佳颖 靖雯 明哲 嘉伟 诗琳 伟杰 昊 婉清 芷若 雨辰"
)
GIVEN_NAMES = _GIVEN_NAMES.split()


def national_id_check(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of a resident ID number (GB 11643)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(digit) * weight for digit, weight in zip(body17, weights, strict=True))
    return "10X98765432"[total % 11]


def student_number(*, district_code: str, born: date, sequence: int) -> str:
    """A 学籍号 in the Shanghai style: G followed by an 18-character ID-shaped string."""
    body = f"{district_code}{born:%Y%m%d}{sequence:03d}"
    return "G" + body + national_id_check(body)


# Posts whose kinds the safety policy may ask a guardian's consent for, and their briefings.
SAFETY = {
    "少儿阅读活动助理": {
        "off_site": True,
        "safety_briefing": "活动在社区分馆举行，需自行往返：请结伴出行，遵守交通规则，"
        "到达与离开时向带队老师报到。",
    },
    "古籍修复职业体验": {
        "physical_risk": True,
        "safety_briefing": "修复会用到刻刀、针锥与浆糊：请听从修复师指导使用工具，"
        "刀具用后立即放回工具盒，受伤立即告知工作人员。",
    },
    "农耕体验": {
        "off_site": True,
        "overnight": True,
        "safety_briefing": "学农期间住宿在基地宿舍：夜间不得外出，田间劳动须穿长袖长裤和防滑鞋，"
        "使用农具时与同伴保持距离。",
    },
    "定向越野安全实训": {
        "off_site": True,
        "physical_risk": True,
        "safety_briefing": "越野线路含坡道与水边路段：请穿运动鞋，携带饮用水，不得离开标记路线。",
    },
    "滨江生态调查员": {
        "physical_risk": True,
        "safety_briefing": "调查在滨江步道进行：不得翻越护栏或靠近水边，取水样由工作人员操作。",
    },
    "消防安全实训": {
        "safety_briefing": "实训中会使用灭火器和烟雾模拟：请听从教官口令，不得自行操作设备。",
    },
}
#: The demo student's other-platform record that, with a base's session the same day, goes
#: beyond the daily cap: its excess waits for the school's review.
LONG_DAY_PLATFORM = "上海市志愿服务平台"
# The demo student's reflections (seed_demo, `seed_reflections`).
REFLECTION_TYPICAL = (
    "第一次到图书馆做志愿者，我负责把归还的图书按中图法分类上架。一开始我常常把相邻的类号放错，"
    "馆员老师教我先看索书号的字母再看数字，一个上午下来我整理了三百多本书。看到读者很快找到想要的书，"
    "我明白了细致和耐心也是一种服务。以后我还想去少儿阅览室，帮小朋友讲故事。"
)
REFLECTION_COMMENT = "写得具体真实，能从小事里体会服务的意义，推荐为本班典型事例。"
REFLECTION_IN_NOTICE = "这次活动让我学会了和不同年龄的人沟通，也更理解了工作人员的辛苦。"
