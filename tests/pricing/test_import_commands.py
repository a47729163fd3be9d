"""The three import commands on small files the tests write themselves."""

import gzip
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from pricing.models import InterruptionBand, OnDemandPrice, RawPriceReport, SpotPool

SPOT_CSV = """\
timestamp_utc,region,availability_zone,instance_type,product_description,spot_price_usd
2021-03-02T14:45:01Z,us-east-1,us-east-1a,m5.large,Linux/UNIX,0.038000
2021-03-02T20:10:00Z,us-east-1,us-east-1a,m5.large,Linux/UNIX,0.039100
2021-03-02T14:45:01Z,us-east-1,us-east-1b,m5.large,Linux/UNIX,0.040000
2021-03-02T14:45:01Z,us-east-1,us-east-1b,m5.large,Windows,0.130000
"""


def write(tmp_path, name: str, text: str, *, gzipped: bool = False):
    path = tmp_path / name
    if gzipped:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_spot_prices_import_from_gzip_into_the_raw_tier(tmp_path, capsys):
    path = write(tmp_path, "spot.csv.gz", SPOT_CSV, gzipped=True)

    call_command("import_spot_prices", str(path))

    rows = RawPriceReport.objects.filter(source="import")
    assert rows.count() == 3
    pool = SpotPool.objects.get(pool_id="m5.large.us-east-1a")
    assert (pool.region, pool.latest_price) == ("us-east-1", Decimal("0.0391"))
    assert "read 3, skipped 1, stored 3, pools 2" in capsys.readouterr().out


@pytest.mark.django_db
def test_importing_the_same_spot_file_twice_adds_nothing(tmp_path):
    path = write(tmp_path, "spot.csv", SPOT_CSV)
    call_command("import_spot_prices", str(path), verbosity=0)

    call_command("import_spot_prices", str(path), verbosity=0)

    assert RawPriceReport.objects.count() == 3


@pytest.mark.django_db
def test_a_malformed_row_is_an_error_naming_its_line(tmp_path):
    broken = SPOT_CSV + "2021-03-03T00:00:00Z,us-east-1,us-east-1a,m5.large," \
        "Linux/UNIX,cheap\n"
    path = write(tmp_path, "spot.csv", broken)

    with pytest.raises(CommandError, match=r"spot.csv: line 6: spot_price_usd"):
        call_command("import_spot_prices", str(path), verbosity=0)


@pytest.mark.django_db
def test_a_file_without_the_expected_columns_is_refused(tmp_path):
    path = write(tmp_path, "bands.csv", "region,instance_type\nus-east-1,m5.large\n")

    with pytest.raises(CommandError, match="line 1: missing column snapshot_date"):
        call_command("import_interruption_bands", str(path), verbosity=0)


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_ondemand_prices", str(tmp_path / "absent.csv"))


@pytest.mark.django_db
@pytest.mark.parametrize("text", [
    "instance_type,region,ondemand_usd_per_hour,spot_avg_usd_per_hour\n"
    "m5.large,us-east-1,0.096,0.04\nm5.large,eu-west-1,0.107,0.05\n"
    "x1.tiny,us-east-1,0,0\n",
    "partition,region,instance_type,ondemand_linux_usd_per_hour,generated_at_utc\n"
    "aws,us-east-1,m5.large,0.096,2026-07-20T13:44:30Z\n"
    "aws,eu-west-1,m5.large,0.107,2026-07-20T13:44:30Z\n"
    "aws,us-east-1,x1.tiny,0,2026-07-20T13:44:30Z\n",
], ids=["by-region", "price-list"])
def test_ondemand_prices_import_both_formats_and_update_on_reimport(tmp_path, text):
    OnDemandPrice.objects.create(
        instance_type="m5.large", region="us-east-1", price=Decimal("0.5")
    )
    path = write(tmp_path, "ondemand.csv", text)

    call_command("import_ondemand_prices", str(path), verbosity=0)
    call_command("import_ondemand_prices", str(path), verbosity=0)

    prices = {
        (row.instance_type, row.region): row.price
        for row in OnDemandPrice.objects.all()
    }
    assert prices == {
        ("m5.large", "us-east-1"): Decimal("0.096"),
        ("m5.large", "eu-west-1"): Decimal("0.107"),
    }


BANDS_CSV = """\
snapshot_date,snapshot_id,region,os,instance_type,interruption_band,interruption_label,savings_pct_vs_ondemand
2021-02-10,2021-02-10,us-east-1,Linux,m5.large,2,10-15%,70
2021-02-10,2021-02-10,us-east-1,Linux,c5.large,0,<5%,-3
2021-02-17,2021-02-17,us-east-1,Linux,m5.large,1,5-10%,68
"""


@pytest.mark.django_db
def test_interruption_bands_keep_every_snapshot_once(tmp_path):
    path = write(tmp_path, "bands.csv.gz", BANDS_CSV, gzipped=True)

    call_command("import_interruption_bands", str(path), verbosity=0)
    call_command("import_interruption_bands", str(path), verbosity=0)

    bands = InterruptionBand.objects.order_by("snapshot_date", "instance_type")
    assert [(b.instance_type, b.band, b.savings_percent) for b in bands] == [
        ("c5.large", 0, None), ("m5.large", 2, 70.0), ("m5.large", 1, 68.0),
    ]


@pytest.mark.django_db
def test_a_band_outside_zero_to_four_names_its_line(tmp_path):
    path = write(tmp_path, "bands.csv", BANDS_CSV.replace(",1,5-10%", ",7,5-10%"))

    with pytest.raises(CommandError, match="line 4: interruption_band 7"):
        call_command("import_interruption_bands", str(path), verbosity=0)
