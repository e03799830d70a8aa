from django.db import migrations

# Shanghai's 16 districts with their administrative division codes (GB/T 2260).
DISTRICTS = [
    ("310101", "黄浦区", "Huangpu District"),
    ("310104", "徐汇区", "Xuhui District"),
    ("310105", "长宁区", "Changning District"),
    ("310106", "静安区", "Jing'an District"),
    ("310107", "普陀区", "Putuo District"),
    ("310109", "虹口区", "Hongkou District"),
    ("310110", "杨浦区", "Yangpu District"),
    ("310112", "闵行区", "Minhang District"),
    ("310113", "宝山区", "Baoshan District"),
    ("310114", "嘉定区", "Jiading District"),
    ("310115", "浦东新区", "Pudong New Area"),
    ("310116", "金山区", "Jinshan District"),
    ("310117", "松江区", "Songjiang District"),
    ("310118", "青浦区", "Qingpu District"),
    ("310120", "奉贤区", "Fengxian District"),
    ("310151", "崇明区", "Chongming District"),
]


def create_districts(apps, schema_editor):
    District = apps.get_model("districts", "District")
    for order, (code, name_zh, name_en) in enumerate(DISTRICTS, start=1):
        District.objects.update_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "sort_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("districts", "0001_initial")]

    operations = [migrations.RunPython(create_districts, migrations.RunPython.noop)]
