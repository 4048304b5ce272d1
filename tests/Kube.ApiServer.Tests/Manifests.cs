namespace Kube.ApiServer.Tests;

/// <summary>Manifests shared by the tests. Immutable.</summary>
internal static class Manifests
{
    public const string TopicCrd = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: kafkatopics.kafka.example.io
        spec:
          group: kafka.example.io
          scope: Namespaced
          names:
            plural: kafkatopics
            singular: kafkatopic
            kind: KafkaTopic
            shortNames: [kt]
          versions:
          - name: v1
            served: true
            storage: true
            subresources:
              status: {}
              scale:
                specReplicasPath: .spec.replicas
                statusReplicasPath: .status.replicas
            additionalPrinterColumns:
            - name: Partitions
              type: integer
              jsonPath: .spec.partitions
            - name: Ready
              type: string
              jsonPath: .status.conditions[?(@.type=="Ready")].status
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    required: [partitions]
                    properties:
                      partitions:
                        type: integer
                        minimum: 1
                        maximum: 1000
                      replicas:
                        type: integer
                        default: 3
                      cleanup:
                        type: string
                        enum: [delete, compact]
                      name:
                        type: string
                        pattern: '^[a-z.-]+$'
                      retention:
                        x-kubernetes-int-or-string: true
                      config:
                        type: object
                        x-kubernetes-preserve-unknown-fields: true
                      listeners:
                        type: array
                        x-kubernetes-list-type: map
                        x-kubernetes-list-map-keys: [name]
                        items:
                          type: object
                          required: [name]
                          properties:
                            name: {type: string}
                            port: {type: integer}
                  status:
                    type: object
                    properties:
                      replicas: {type: integer}
                      conditions:
                        type: array
                        items:
                          type: object
                          properties:
                            type: {type: string}
                            status: {type: string}
        """;

    public const string Topic = """
        apiVersion: kafka.example.io/v1
        kind: KafkaTopic
        metadata:
          name: orders
        spec:
          partitions: 3
        """;

    /// <summary>A topic with a field its CRD does not declare: pruned, and an error or a warning per fieldValidation.</summary>
    public const string TopicWithUnknownField = """
        apiVersion: kafka.example.io/v1
        kind: KafkaTopic
        metadata:
          name: orders
        spec:
          partitions: 3
          notInSchema: dropped
        """;
}
