public enum GraphModule {}
