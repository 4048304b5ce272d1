using k8s.Models;
using Operator.Api;
using Operator.CrdGenerator;

namespace Operator.Model.Tests;

public sealed class CrdTests
{
    // Rule 10: the committed CRDs and the chart's copy are exactly what the generator writes today.
    [Fact]
    public void CommittedCrds_MatchGenerator_BothCopies()
    {
        var rendered = CrdRenderer.RenderAll();
        Assert.Equal(5, rendered.Count);
        foreach (var directory in CrdRenderer.OutputDirectories)
        {
            var committed = Directory.GetFiles(Path.Combine(Repo.Root, directory), "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal);
            Assert.Equal(rendered.Select(r => r.FileName).Order(StringComparer.Ordinal), committed);
            foreach (var (fileName, yaml) in rendered)
            {
                var path = Path.Combine(Repo.Root, directory, fileName);
                Assert.True(yaml == File.ReadAllText(path), $"{directory}/{fileName} is stale: run `make crds`");
            }
        }
    }

    [Theory]
    [InlineData("kafkas.kafka.strimzi.io", "Kafka", "kafkas", "k", false)]
    [InlineData("kafkanodepools.kafka.strimzi.io", "KafkaNodePool", "kafkanodepools", "knp", true)]
    [InlineData("kafkatopics.kafka.strimzi.io", "KafkaTopic", "kafkatopics", "kt", false)]
    [InlineData("kafkausers.kafka.strimzi.io", "KafkaUser", "kafkausers", "ku", false)]
    public void Crd_HasStrimziNamesVersionsAndSubresources(string name, string kind, string plural, string shortName, bool scale)
    {
        var crd = CrdRenderer.Build(StrimziCrds.All.Single(d => d.Name == name));
        Assert.Equal(name, crd.Metadata.Name);
        Assert.Equal("kafka.strimzi.io", crd.Spec.Group);
        Assert.Equal(kind, crd.Spec.Names.Kind);
        Assert.Equal(plural, crd.Spec.Names.Plural);
        Assert.Equal([shortName], crd.Spec.Names.ShortNames);
        Assert.Equal(["strimzi"], crd.Spec.Names.Categories);
        Assert.Equal("None", crd.Spec.Conversion.Strategy);
        Assert.Equal(["v1", "v1beta2", "v1beta1"], crd.Spec.Versions.Select(v => v.Name));
        Assert.Equal([true, false, false], crd.Spec.Versions.Select(v => v.Storage));
        Assert.All(crd.Spec.Versions, v => Assert.True(v.Served));
        Assert.All(crd.Spec.Versions, v => Assert.NotNull(v.Subresources.Status));
        Assert.All(crd.Spec.Versions, v => Assert.Equal(scale, v.Subresources.Scale is not null));
        var schemas = crd.Spec.Versions.Select(v => k8s.KubernetesJson.Serialize(v.Schema)).Distinct().ToList();
        Assert.Single(schemas);
    }

    [Fact]
    public void KafkaCrd_PrinterColumnsAndLegacyFields()
    {
        var crd = CrdRenderer.Build(StrimziCrds.Kafka);
        var v1 = crd.Spec.Versions[0];
        Assert.Equal(["Ready", "Warnings", "Kafka version", "Metadata version"], v1.AdditionalPrinterColumns.Select(c => c.Name));
        Assert.Equal(".status.conditions[?(@.type==\"Ready\")].status", v1.AdditionalPrinterColumns[0].JsonPath);
        var spec = v1.Schema.OpenAPIV3Schema.Properties["spec"];
        Assert.Equal(["kafka"], spec.Required);
        Assert.True(spec.Properties["zookeeper"].XKubernetesPreserveUnknownFields);
        var kafka = spec.Properties["kafka"];
        Assert.Equal("integer", kafka.Properties["replicas"].Type);
        Assert.Equal(["ephemeral", "persistent-claim", "jbod"], kafka.Properties["storage"].Properties["type"].EnumProperty);
        var listener = (V1JSONSchemaProps)kafka.Properties["listeners"].Items;
        Assert.Equal(["name", "port", "tls", "type"], listener.Required);
        Assert.Equal("^[a-z0-9]{1,11}$", listener.Properties["name"].Pattern);
        Assert.Equal(9092, listener.Properties["port"].Minimum);
        // jbod volumes are storages without volumes of their own.
        var volume = (V1JSONSchemaProps)kafka.Properties["storage"].Properties["volumes"].Items;
        Assert.False(volume.Properties.ContainsKey("volumes"));
        Assert.True(volume.Properties.ContainsKey("kraftMetadata"));
    }

    [Fact]
    public void NodePoolCrd_ScaleSubresourceAndColumns()
    {
        var v1 = CrdRenderer.Build(StrimziCrds.KafkaNodePool).Spec.Versions[0];
        Assert.Equal(".spec.replicas", v1.Subresources.Scale.SpecReplicasPath);
        Assert.Equal(".status.replicas", v1.Subresources.Scale.StatusReplicasPath);
        Assert.Equal(".status.labelSelector", v1.Subresources.Scale.LabelSelectorPath);
        Assert.Equal(["Desired replicas", "Roles", "NodeIds"], v1.AdditionalPrinterColumns.Select(c => c.Name));
        Assert.Equal(["controller", "broker"], ((V1JSONSchemaProps)v1.Schema.OpenAPIV3Schema.Properties["spec"].Properties["roles"].Items).EnumProperty);
    }
}

public sealed class CrdCelTests
{
    [Fact]
    public void RackAndUserAuthentication_CarryStrimzisCelRules()
    {
        var kafka = CrdRenderer.Build(StrimziCrds.Kafka).Spec.Versions[0].Schema.OpenAPIV3Schema;
        var rack = kafka.Properties["spec"].Properties["kafka"].Properties["rack"];
        Assert.Equal(["topologyKey property is required", "envVarName property is required"], rack.XKubernetesValidations.Select(v => v.Message));
        var user = CrdRenderer.Build(StrimziCrds.KafkaUser).Spec.Versions[0].Schema.OpenAPIV3Schema;
        var auth = user.Properties["spec"].Properties["authentication"];
        Assert.Equal(2, auth.XKubernetesValidations.Count);
        Assert.Contains(auth.XKubernetesValidations, v => v.Rule == "self.type != 'tls' || (has(self.renewalDays) == has(self.validityDays))");
    }
}
