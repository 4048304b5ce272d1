// KafkaJS 2.2 driver for the integration tests. Usage:
//   node kafkajs_client.js <bootstrap> <topic> <count> <compression: none|gzip> <keep|delete> [idempotent]
// Creates a 2-partition topic with the admin client, produces <count> keyed records with headers and
// timestamps 1700000000000 + i (record i to partition i % 2, acks=-1), reads metadata and offsets (latest,
// and by timestamp 1700000000010), optionally deletes the topic, and prints one JSON line. Exit 1 on error.
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

async function main() {
  const [bootstrap, topic, countText, compression, mode, producerMode] = process.argv.slice(2);
  const idempotent = producerMode === 'idempotent';
  const count = Number(countText);
  const kafka = new Kafka({ clientId: 'kafkajs-it', brokers: [bootstrap], logLevel: logLevel.ERROR, retry: { retries: 3 } });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });

  // KafkaJS's idempotent producer (InitProducerId, sequence numbers) wants one request in flight.
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent, maxInFlightRequests: idempotent ? 1 : undefined });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < count; i++) {
    messages.push({ key: `k${i}`, value: `v${i}`, partition: i % 2, headers: { h: `x${i}` }, timestamp: String(1700000000000 + i) });
  }
  const acks = await producer.send({
    topic,
    acks: -1,
    compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    messages,
  });
  await producer.disconnect();

  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const offsets = await admin.fetchTopicOffsets(topic);
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 1700000000000 + 10);
  const topics = await admin.listTopics();
  if (mode === 'delete') {
    await admin.deleteTopics({ topics: [topic] });
  }
  const afterDelete = await admin.listTopics();
  await admin.disconnect();
  console.log(JSON.stringify({ created, acks, metadata, offsets, byTime, listed: topics.includes(topic), listedAfterDelete: afterDelete.includes(topic) }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
