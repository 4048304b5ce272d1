/*
 * Minimal librdkafka load generator for measuring the broker without a managed client in the way.
 *   rdkafka_perf produce <bootstrap> <topic> <count> <size> <acks> <linger.ms> [compression]
 *   rdkafka_perf consume <bootstrap> <topic> <count>
 * produce: prints records/s, MB/s and delivery latency percentiles (send -> delivery report).
 *          RDKAFKA_PERF_RATE=<records/s> sends at that fixed rate instead of as fast as possible (for latency at a
 *          given load); RDKAFKA_PERF_PRODUCER_PROPS="k=v,..." adds producer properties; RDKAFKA_PERF_TIMELINE=<file>
 *          writes each record's send time and latency.
 * consume: simple (group-less) consumer of partition 0 from the beginning; prints records/s and MB/s.
 *          RDKAFKA_PERF_CONSUMER_PROPS="k=v,..." adds consumer properties; RDKAFKA_PERF_API=batch switches from
 *          rd_kafka_consume_callback (default) to rd_kafka_consume_batch.
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t *latencies, *sent_at;
static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    if (m->err) { failed++; return; }
    sent_at[delivered] = (int64_t)(intptr_t)m->_private;
    latencies[delivered] = now_us() - sent_at[delivered];
    delivered++;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

/* "k=v,k=v" from an environment variable, for experiments. */
static void set_from_env(rd_kafka_conf_t *conf, const char *name) {
    const char *extra = getenv(name);
    if (!extra) return;
    char *copy = strdup(extra), *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq) { *eq = 0; set(conf, kv, eq + 1); }
    }
    free(copy);
}

static int produce(const char *bootstrap, const char *topic, long count, int size, const char *acks,
                   const char *linger, const char *codec) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "acks", acks);
    set(conf, "linger.ms", linger);
    set(conf, "compression.codec", codec);
    set(conf, "queue.buffering.max.messages", "1000000");
    set_from_env(conf, "RDKAFKA_PERF_PRODUCER_PROPS");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 1; }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    latencies = calloc((size_t)count, sizeof *latencies);
    sent_at = calloc((size_t)count, sizeof *sent_at);
    char *payload = malloc((size_t)size);
    memset(payload, 'x', (size_t)size);

    const char *rate_env = getenv("RDKAFKA_PERF_RATE");
    double rate = rate_env ? atof(rate_env) : 0;
    /* RDKAFKA_PERF_SPIN=1: the earlier spinning wait (poll(0) while the next record is less than 1 ms away), for A/B runs. */
    const char *spin_env = getenv("RDKAFKA_PERF_SPIN");
    int spin = spin_env && strcmp(spin_env, "1") == 0;
    int64_t start = now_us();
    for (long i = 0; i < count; i++) {
        if (rate > 0) {
            /* Fixed rate: record i is due at start + i / rate. Ahead of schedule the loop waits inside rd_kafka_poll,
             * which serves delivery reports the moment they arrive (so waiting adds nothing to the measured latency),
             * for at least 1 ms at a time, and then sends every record due meanwhile back to back: it sleeps as Kafka's
             * producer-perf-test throttler does instead of spinning. A spinning sender (poll(0) between records 20 us
             * apart) keeps a whole core busy, half of this 2-core machine, and its scheduling then shows in the tail. */
            int64_t due = start + (int64_t)((double)i * 1e6 / rate), wait;
            while ((wait = due - now_us()) > 0) rd_kafka_poll(rk, spin ? (wait >= 1000 ? 1 : 0) : wait >= 2000 ? (int)(wait / 1000) : 1);
        }
        while (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, payload, (size_t)size, NULL, 0,
                                (void *)(intptr_t)now_us()) == -1) {
            rd_kafka_poll(rk, 1); /* queue full: serve delivery reports */
        }
        if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
    }
    double send_secs = (double)(now_us() - start) / 1e6;
    rd_kafka_flush(rk, 60000);
    double secs = (double)(now_us() - start) / 1e6;

    /* RDKAFKA_PERF_TIMELINE=<file>: one line per delivered record, "<ms since start> <latency us>", in delivery order,
     * to see whether a tail is spread over the run or comes in bursts. */
    const char *timeline = getenv("RDKAFKA_PERF_TIMELINE");
    if (timeline) {
        FILE *f = fopen(timeline, "w");
        if (!f) { perror(timeline); return 1; }
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        fprintf(f, "# start %.3f (unix seconds)\n", (double)wall.tv_sec + wall.tv_nsec / 1e9 - (double)(now_us() - start) / 1e6);
        for (long i = 0; i < delivered; i++)
            fprintf(f, "%.3f %lld\n", (double)(sent_at[i] - start) / 1000.0, (long long)latencies[i]);
        fclose(f);
    }
    qsort(latencies, (size_t)delivered, sizeof *latencies, cmp64);
    int64_t sum = 0;
    for (long i = 0; i < delivered; i++) sum += latencies[i];
#define PCT(p) (delivered ? latencies[(long)((delivered - 1) * (p))] / 1000.0 : 0)
    if (rate > 0) printf("fixed rate %.0f records/s requested, %.0f records/s sent; ", rate, count / send_secs);
    printf("%ld records sent (%ld failed), %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, "
           "%.2f ms p50, %.2f ms p95, %.2f ms p99, %.2f ms p99.9, %.2f ms max\n",
           delivered, failed, delivered / secs, delivered * (double)size / secs / 1048576.0,
           delivered ? sum / 1000.0 / delivered : 0, PCT(0.50), PCT(0.95), PCT(0.99), PCT(0.999), PCT(1.0));
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return failed ? 1 : 0;
}

struct consume_state { long got; int64_t bytes, start; };

static void count_message(rd_kafka_message_t *m, void *opaque) {
    struct consume_state *st = opaque;
    if (m->err) return;
    if (st->got == 0) st->start = now_us();
    st->got++;
    st->bytes += (int64_t)m->len;
}

static int consume(const char *bootstrap, const char *topic, long count) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set_from_env(conf, "RDKAFKA_PERF_CONSUMER_PROPS");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 1; }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_message_t *batch[4096];
    long got = 0;
    int64_t bytes = 0, start = 0;
    rd_kafka_consume_start(rkt, 0, RD_KAFKA_OFFSET_BEGINNING);
    int64_t deadline = now_us() + 60 * 1000000LL;
    const char *api = getenv("RDKAFKA_PERF_API");
    if (!api || strcmp(api, "batch") != 0) {
        /* Default: librdkafka's callback API, which hands each message to the application straight from the fetch
         * queue; RDKAFKA_PERF_API=batch uses rd_kafka_consume_batch (messages copied into an array first), which
         * measured 2-3x slower on this machine. */
        struct consume_state st = {0, 0, 0};
        while (st.got < count && now_us() < deadline)
            rd_kafka_consume_callback(rkt, 0, 1000, count_message, &st);
        got = st.got; bytes = st.bytes; start = st.start;
    }
    while (got < count && now_us() < deadline) {
        ssize_t n = rd_kafka_consume_batch(rkt, 0, 1000, batch, 4096);
        for (ssize_t i = 0; i < n; i++) {
            if (!batch[i]->err) {
                if (got == 0) start = now_us();
                got++;
                bytes += (int64_t)batch[i]->len;
            }
            rd_kafka_message_destroy(batch[i]);
        }
    }
    double secs = (double)(now_us() - start) / 1e6;
    printf("%ld records consumed (%.2f MB) in %.2f s from the first record, %.1f records/sec (%.2f MB/sec)\n",
           got, bytes / 1048576.0, secs, got / secs, bytes / secs / 1048576.0);
    rd_kafka_consume_stop(rkt, 0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return got >= count ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc >= 8 && strcmp(argv[1], "produce") == 0)
        return produce(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), argv[6], argv[7], argc > 8 ? argv[8] : "none");
    if (argc >= 5 && strcmp(argv[1], "consume") == 0)
        return consume(argv[2], argv[3], atol(argv[4]));
    fprintf(stderr, "usage: %s produce <bootstrap> <topic> <count> <size> <acks> <linger.ms> [codec]\n"
                    "       %s consume <bootstrap> <topic> <count>\n", argv[0], argv[0]);
    return 2;
}
