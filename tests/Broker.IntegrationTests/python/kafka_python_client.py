"""kafka-python driver for the broker's integration tests.

Run with Debian's /usr/bin/python3 (python3-kafka). Two commands, each printing JSON lines on stdout:

  produce --bootstrap B --topic T --count N [--compression C] [--base-timestamp MS]
      sends N keyed records with headers and explicit timestamps, acks=all; prints one line per
      acknowledged record: {"index", "partition", "offset"}.
  consume --bootstrap B --topic T --expected N [--partition P] [--timeout-s S]
      assign + seek_to_beginning, no group id; prints one line per record read. Exit 2 if fewer than N
      records arrived before the timeout.

Exit 3 when a module is missing, naming the Debian package to install.
"""

import argparse
import json
import sys
import time

try:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
except ImportError as error:  # pragma: no cover - environment problem, reported to the C# test
    print("kafka-python is missing (%s): install the Debian package python3-kafka" % error, file=sys.stderr)
    sys.exit(3)

CODEC_PACKAGES = {"snappy": ("snappy", "python3-snappy"), "lz4": ("lz4.frame", "python3-lz4"), "zstd": ("zstandard", "python3-zstandard")}


def key_of(i):
    return "key-%05d" % i


def value_of(i):
    # Same shape as the C# TestRecords.Value: varying lengths, repeated runs.
    return "value-%d-%s" % (i, chr(ord("a") + i % 26) * (i % 97))


def text(data):
    return None if data is None else data.decode("utf-8")


def require_codec(codec):
    if codec in CODEC_PACKAGES:
        module, package = CODEC_PACKAGES[codec]
        try:
            __import__(module)
        except ImportError as error:
            print("compression %s needs module %s (%s): install the Debian package %s" % (codec, module, error, package), file=sys.stderr)
            sys.exit(3)


def produce(args):
    codec = None if args.compression == "none" else args.compression
    require_codec(args.compression)
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks="all",
        compression_type=codec,
        linger_ms=5,
        batch_size=16384,
        retries=0,
        request_timeout_ms=15000,
        api_version_auto_timeout_ms=15000,
    )
    futures = []
    for i in range(args.count):
        headers = [("index", str(i).encode("utf-8")), ("empty", b"")]
        futures.append(producer.send(
            args.topic,
            key=key_of(i).encode("utf-8"),
            value=value_of(i).encode("utf-8"),
            headers=headers,
            partition=0,
            timestamp_ms=args.base_timestamp + i * 7,
        ))
    producer.flush(timeout=30)
    for i, future in enumerate(futures):
        metadata = future.get(timeout=30)
        print(json.dumps({"index": i, "partition": metadata.partition, "offset": metadata.offset}))
    producer.close(timeout=10)


def consume(args):
    if args.group:
        consume_group(args)
        return
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=200,
        request_timeout_ms=30000,
        api_version_auto_timeout_ms=15000,
    )
    partition = TopicPartition(args.topic, args.partition)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    count = 0
    deadline = time.monotonic() + args.timeout_s
    while count < args.expected and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=200)
        for records in batches.values():
            for record in records:
                print(json.dumps({
                    "partition": record.partition,
                    "offset": record.offset,
                    "key": text(record.key),
                    "value": text(record.value),
                    "headers": [[k, text(v)] for k, v in record.headers],
                    "timestamp": record.timestamp,
                    "timestamp_type": record.timestamp_type,
                }, ensure_ascii=False))
                count += 1
    consumer.close(autocommit=False)
    if count < args.expected:
        print("read %d of %d records before the %d s timeout" % (count, args.expected, args.timeout_s), file=sys.stderr)
        sys.exit(2)


def consume_group(args):
    """Subscribes through a consumer group, reads until the expected count, commits and leaves the group."""
    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
        fetch_max_wait_ms=200,
        request_timeout_ms=30000,
        api_version_auto_timeout_ms=15000,
    )
    count = 0
    deadline = time.monotonic() + args.timeout_s
    while count < args.expected and time.monotonic() < deadline:
        batches = consumer.poll(timeout_ms=200)
        for records in batches.values():
            for record in records:
                print(json.dumps({"partition": record.partition, "offset": record.offset, "value": text(record.value)}))
                count += 1
    consumer.commit()
    consumer.close(autocommit=False)
    if count < args.expected:
        print("read %d of %d records before the %d s timeout" % (count, args.expected, args.timeout_s), file=sys.stderr)
        sys.exit(2)


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--compression", default="none", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    p.add_argument("--base-timestamp", type=int, default=int(time.time() * 1000) - 3600 * 1000)
    c = commands.add_parser("consume")
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--expected", type=int, required=True)
    c.add_argument("--partition", type=int, default=0)
    c.add_argument("--timeout-s", type=int, default=30)
    c.add_argument("--group", default=None, help="subscribe through this consumer group instead of assigning")
    args = parser.parse_args()
    produce(args) if args.command == "produce" else consume(args)


if __name__ == "__main__":
    main()
