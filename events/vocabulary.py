"""The fixed lists activities are described with: codes in the API and on topics (part of the
event contract), Chinese labels on the page. Add a category here (and its English label in
web/translations/en.po), at the end of its list: statistics keeps each category's and
dimension's place in these lists as a bit (services/statistics/presence.py)."""

CATEGORIES = {
    "education": "宣传教育",
    "culture": "文化交流",
    "sports": "文体活动",
    "festival": "节庆联谊",
    "language": "语言文字培训",
    "skills": "技能培训与就业",
    "legal": "法律服务",
    "community": "社区服务",
    "pairing": "结对帮扶",
    "volunteer": "志愿服务",
}

# The five dimensions of embedding (全方位嵌入).
DIMENSIONS = {
    "space": "空间",
    "culture": "文化",
    "economy": "经济",
    "society": "社会",
    "psychology": "心理",
}
