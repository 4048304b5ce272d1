using Broker.Coordinators.Groups;

namespace Broker.Coordinators.Tests;

public sealed class GroupPartitionerTests
{
    [Fact]
    public void JavaHashCode_Group1_MatchesJavaStringHashCode()
    {
        // "group-1".hashCode() by hand: h = 31*h + c over the UTF-16 units, kept to 32 bits.
        long h = 0;
        foreach (var c in "group-1")
        {
            h = ((31 * h) + c) & 0xFFFFFFFF;
        }

        var expected = unchecked((int)(uint)h);
        Assert.Equal(293427299, expected);
        Assert.Equal(expected, GroupPartitioner.JavaHashCode("group-1"));
        Assert.Equal(49, GroupPartitioner.PartitionFor("group-1", 50));
    }

    [Theory]
    [InlineData("", 0, 0)]
    [InlineData("a", 97, 47)]
    [InlineData("my-group", -1906497762, 12)]
    [InlineData("polygenelubricants", int.MinValue, 0)] // Utils.abs(Integer.MIN_VALUE) is 0
    public void PartitionFor_KnownValues_MatchKafka(string groupId, int hash, int partition)
    {
        Assert.Equal(hash, GroupPartitioner.JavaHashCode(groupId));
        Assert.Equal(partition, GroupPartitioner.PartitionFor(groupId, 50));
    }
}
