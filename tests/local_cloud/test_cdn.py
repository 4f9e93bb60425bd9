"""The distribution's stand-in (local_cloud/cdn.py): S3's and CloudFront's answers, and a
certificate that can vouch for the distribution's name and nothing else."""

from __future__ import annotations

import datetime
import io

import botocore.exceptions
from cryptography import x509

from local_cloud.cdn import DistributionConfig, certificate, serve

SUMMARY = {
    "DomainName": "d111.cloudfront.net",
    "Origins": {"Items": [{"Id": "data", "DomainName": "bucket-1.s3.us-east-1.amazonaws.com", "OriginPath": ""}]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "data",
        "AllowedMethods": {"Items": ["GET", "HEAD"]},
        "ResponseHeadersPolicyId": "67f7725c-6f97-4210-82d7-5512b31e9d03",
    },
}


class Bucket:
    """get_object of an S3 client on one bucket's objects."""

    def __init__(self, objects):
        self.objects, self.asked = objects, []

    def get_object(self, Bucket, Key):  # noqa: N803 (boto3's names)
        self.asked.append((Bucket, Key))
        if Key not in self.objects:
            raise botocore.exceptions.ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
        return {
            "Body": io.BytesIO(self.objects[Key]),
            "ContentType": "application/json",
            "ETag": '"e"',
            "LastModified": datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC),
        }


CONFIG = DistributionConfig.from_api(SUMMARY)


def test_the_configuration_is_the_distributions():
    assert (CONFIG.domain, CONFIG.bucket, CONFIG.allowed_methods) == ("d111.cloudfront.net", "bucket-1", frozenset({"GET", "HEAD"}))
    assert CONFIG.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_object_is_served_by_its_percent_decoded_key_with_the_policys_headers():
    bucket = Bucket({"results/a b/r.json": b'{"ok":1}'})
    response = serve(CONFIG, bucket, "GET", "/results/a%20b/r.json?x=1")
    assert (response.status, response.body, bucket.asked) == (200, b'{"ok":1}', [("bucket-1", "results/a b/r.json")])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert serve(CONFIG, bucket, "HEAD", "/results/a%20b/r.json").status == 200  # the server leaves the body out


def test_missing_objects_and_other_keys_answer_s3s_403():
    bucket = Bucket({"results/r.json": b"{}"})
    for path in ("/results/none.json", "//results/r.json", "/results/%01", "/"):
        response = serve(CONFIG, bucket, "GET", path)
        assert (response.status, b"<Code>AccessDenied</Code>" in response.body) == (403, True), path


def test_methods_the_behaviour_does_not_allow_get_cloudfronts_403():
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "get"):
        response = serve(CONFIG, Bucket({}), method, "/results/r.json")
        assert response.status == 403 and b"not configured to allow the HTTP request method" in response.body


def test_the_certificate_names_only_the_distribution_and_its_key_is_private(tmp_path):
    cert_path, key_path = certificate("d111.cloudfront.net", tmp_path)
    assert key_path.stat().st_mode & 0o077 == 0
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["d111.cloudfront.net"]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    permitted = cert.extensions.get_extension_for_class(x509.NameConstraints).value.permitted_subtrees
    assert x509.DNSName("d111.cloudfront.net") in permitted and len(permitted) == 2
