"""The catalogue as DCAT-AP.de 2.0 (JSON-LD): a dcat:Catalog of dcat:Datasets with dcat:Distributions.

Mandatory DCAT-AP.de properties are set: catalogue title, description, publisher and datasets; dataset
title, description, publisher, contributor id (when the profile names one); distribution access URL and
licence. Recommended ones where Stadtkern knows them: keywords, themes, contact point, temporal and
spatial coverage, political geocoding, download URLs, formats, media types, modification dates, access
rights. Each dataset has one distribution per format for the list of sites and for each month with
readings. Reference: the DCAT-AP.de 2.0 specification and its conventions (dcat-ap.de/def/dcatde/2.0/).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from stadtkern.core.city import CityProfile
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.opendata.disclosure import MIN_PUBLIC_COUNT
from stadtkern.twin.opendata.formats import MEDIA_TYPES
from stadtkern.twin.opendata.profile import CatalogProfile
from stadtkern.twin.opendata.services import Dataset

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "locn": "http://www.w3.org/ns/locn#",
}
FILE_TYPES = {
    "csv": "http://publications.europa.eu/resource/authority/file-type/CSV",
    "geojson": "http://publications.europa.eu/resource/authority/file-type/GEOJSON",
    "parquet": "http://publications.europa.eu/resource/authority/file-type/PARQUET",
}
THEME = "http://publications.europa.eu/resource/authority/data-theme/"
PUBLIC_ACCESS = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
CONTINUOUS = "http://publications.europa.eu/resource/authority/frequency/CONT"
LANGUAGE_DE = "http://publications.europa.eu/resource/authority/language/DEU"


def _date(value: datetime) -> dict[str, str]:
    return {"@value": value.astimezone(UTC).isoformat().replace("+00:00", "Z"), "@type": "xsd:dateTime"}


def _distribution(
    base: str, dataset: Dataset, name: str, fmt: str, title: str, profile: CatalogProfile
) -> dict[str, Any]:
    url = f"{base}/opendata/{dataset.key}/{name}.{fmt}"
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": title,
        "dcat:accessURL": {"@id": f"{base}/opendata#{dataset.key}"},
        "dcat:downloadURL": {"@id": url},
        "dct:format": {"@id": FILE_TYPES[fmt]},
        "dcat:mediaType": {
            "@id": "https://www.iana.org/assignments/media-types/" + MEDIA_TYPES[fmt].split(";")[0]
        },
        "dct:license": {"@id": profile.licence},
        "dcatde:licenseAttributionByText": profile.attribution,
    }


def catalog_document(
    found: Sequence[Dataset],
    *,
    base: str,
    city: CityProfile,
    profile: CatalogProfile,
    formats: Sequence[str],
    shapes_attribution: str,
    now: datetime,
) -> dict[str, Any]:
    """The JSON-LD document (``base`` is the installation's absolute URL without a trailing slash)."""
    publisher = {
        "@type": "foaf:Agent",
        "foaf:name": profile.publisher,
        **({"foaf:homepage": {"@id": profile.publisher_url}} if profile.publisher_url else {}),
    }
    contact = {
        "@type": "vcard:Organization",
        "vcard:fn": profile.publisher,
        **({"vcard:hasEmail": {"@id": "mailto:" + profile.contact_email}} if profile.contact_email else {}),
    }
    datasets = []
    for dataset in found:
        asset_type = dataset.type
        streams = ", ".join(f"{s.name} ({s.unit.symbol})" for s in dataset.streams)
        description = " ".join(
            part
            for part in (
                str(asset_type.purpose),
                _("Messreihen: %(streams)s.", streams=streams),
                _(
                    "Zählwerte von 1 bis %(limit)s werden nicht veröffentlicht (leer, suppressed=true).",
                    limit=MIN_PUBLIC_COUNT - 1,
                )
                if any(s.observation_type.endswith("OM_CountObservation") for s in dataset.streams)
                else "",
                _("Positionen über den Bezirksgrenzen: %(attribution)s.", attribution=shapes_attribution),
            )
            if part
        )
        distributions = [
            _distribution(
                base, dataset, "standorte", fmt, _("Standorte (%(format)s)", format=fmt.upper()), profile
            )
            for fmt in formats
        ]
        for month in dataset.months:
            distributions += [
                _distribution(
                    base,
                    dataset,
                    month,
                    fmt,
                    _("Messwerte %(month)s (%(format)s)", month=month, format=fmt.upper()),
                    profile,
                )
                for fmt in formats
            ]
        entry: dict[str, Any] = {
            "@id": f"{base}/opendata#{dataset.key}",
            "@type": "dcat:Dataset",
            "dct:identifier": f"{city.city.slug}-{dataset.key}",
            "dct:title": str(asset_type.title),
            "dct:description": description,
            "dct:publisher": publisher,
            "dcat:contactPoint": contact,
            "dcat:keyword": [str(asset_type.title), asset_type.domain, city.city.name, "Sensordaten"],
            "dcat:theme": [
                {"@id": THEME + theme} for theme in profile.themes.get(dataset.key, profile.default_themes)
            ],
            "dct:accessRights": {"@id": PUBLIC_ACCESS},
            "dct:accrualPeriodicity": {"@id": CONTINUOUS},
            "dct:language": {"@id": LANGUAGE_DE},
            "dct:spatial": {"@type": "dct:Location", "locn:geographicName": city.city.name},
            "dcat:landingPage": {"@id": f"{base}/transparenz/{dataset.key}"},
            "dcat:distribution": distributions,
        }
        if dataset.first and dataset.last:
            entry["dct:temporal"] = {
                "@type": "dct:PeriodOfTime",
                "dcat:startDate": _date(dataset.first),
                "dcat:endDate": _date(dataset.last),
            }
            entry["dct:modified"] = _date(dataset.last)
        if profile.contributor_id:
            entry["dcatde:contributorID"] = {"@id": profile.contributor_id}
        if profile.political_geocoding_uri:
            entry["dcatde:politicalGeocodingURI"] = {"@id": profile.political_geocoding_uri}
        if profile.political_geocoding_level:
            entry["dcatde:politicalGeocodingLevelURI"] = {"@id": profile.political_geocoding_level}
        datasets.append(entry)
    return {
        "@context": CONTEXT,
        "@id": f"{base}/opendata/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": profile.title or _("Offene Sensordaten: %(city)s", city=city.city.name),
        "dct:description": profile.description
        or _(
            "Nicht personenbezogene Messwerte und Standorte der Sensoren von %(city)s, monatlich als CSV, "
            "GeoJSON und Parquet.",
            city=city.city.name,
        ),
        "dct:publisher": publisher,
        "dct:language": {"@id": LANGUAGE_DE},
        "dct:license": {"@id": profile.licence},
        "dct:modified": _date(now),
        "foaf:homepage": {"@id": f"{base}/opendata"},
        "dcat:dataset": datasets,
    }
